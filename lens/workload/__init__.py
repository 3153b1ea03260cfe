"""What to send and when: prompt sets, synthetic prompts, token counting, load shapes."""
