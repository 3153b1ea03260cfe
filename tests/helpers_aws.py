"""Moto in server mode (real HTTP on a free 127.0.0.1 port) and boto3 sessions pointed at it.

Import from a test module (tests/ is on pytest's pythonpath)::

    from helpers_aws import moto_server, moto_session
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Moto:
    url: str

    def session(self, region: str = "us-east-1"):  # -> boto3.Session
        return moto_session(self.url, region)

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment for a child process whose boto3 must talk to this server."""
        return {**FAKE_ENV, "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"))


def moto_session(url: str, region: str = "us-east-1"):
    """A boto3 session with fake credentials (clients reach moto via AWS_ENDPOINT_URL)."""
    import boto3

    return boto3.Session(
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_ENV["AWS_SESSION_TOKEN"],
        region_name=region,
    )


@contextmanager
def running_moto() -> Iterator[Moto]:
    """A moto server on a free port, with this process's AWS env pointed at it.

    AWS_ENDPOINT_URL (honoured by botocore for every client, awswrangler's thread-local
    session copies included) and fake credentials are set for the duration, so nothing
    can reach real AWS; the previous values are restored after.
    """
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto = Moto(f"http://{host}:{port}")
    env = {**FAKE_ENV, "AWS_ENDPOINT_URL": moto.url}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield moto
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture(scope="module")
def moto_server() -> Iterator[Moto]:
    """One moto server per test module (state is shared within the module)."""
    with running_moto() as moto:
        yield moto


def make_bucket(session, name: str) -> str:
    s3 = session.client("s3")
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


def list_keys(session, bucket: str, prefix: str = "") -> list[str]:
    s3 = session.client("s3")
    out: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)
