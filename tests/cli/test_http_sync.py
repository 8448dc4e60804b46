"""clone, fetch, push and sync over HTTP against a real `vcrdt serve` on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.http_serve import http_served


@pytest.fixture
def served(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, str]]:
    """Repository `srv` with one commit, served over HTTP, and a write token in VCRDT_TOKEN."""
    srv = CliRunner(cli.cwd / "srv")
    cli.ok("init", "srv")
    srv.write("f.txt", "one\n")
    srv.ok("commit", "-A", "-m", "one")
    token = srv.ok("token", "create", "--write").out.strip()
    monkeypatch.setenv("VCRDT_TOKEN", token)
    with http_served(srv.cwd) as urls:
        yield srv, urls["srv"]


def _log(r: CliRunner) -> list[str]:
    return [c["message"].strip() for c in json.loads(r.ok("log", "--json").out)]


def test_clone_fetch_push_sync_over_http(cli: CliRunner, served: tuple[CliRunner, str]) -> None:
    srv, url = served
    doc = json.loads(cli.ok("clone", url, "c", "--json").out)
    assert doc["received"]["objects"] == 3
    c = CliRunner(cli.cwd / "c")
    assert (c.cwd / "f.txt").read_text() == "one\n"
    assert c.ok("remote", "list", "-v").out.split() == ["origin", url]
    # push: the server's branch moves
    c.write("g.txt", "two\n")
    c.ok("commit", "-A", "-m", "two")
    c.ok("push")
    assert _log(srv) == ["two", "one"]
    # fetch: the clone gets the server's new commit
    srv.write("h.txt", "three\n")
    srv.ok("commit", "-A", "-m", "three")
    c.ok("fetch", url)
    assert _log(c) == ["three", "two", "one"]
    # sync both ways, by the remote's name
    c.write("i.txt", "four\n")
    c.ok("commit", "-A", "-m", "four")
    c.ok("sync", "origin")
    assert _log(srv) == ["four", "three", "two", "one"]
    assert srv.ok("fsck").code == 0 and c.ok("fsck").code == 0


def test_noop_sync_over_http_is_one_round_trip(cli: CliRunner, served: tuple[CliRunner, str]) -> None:
    _, url = served
    cli.ok("clone", url, "c")
    c = CliRunner(cli.cwd / "c")
    doc = json.loads(c.ok("sync", "--stats", "--json").out)
    assert doc["noop"] is True
    assert doc["stats"]["round_trips"] == 1


def test_token_from_the_remote_config_entry(cli: CliRunner, served: tuple[CliRunner, str], monkeypatch) -> None:
    srv, url = served
    token = srv.ok("token", "create", "--read").out.strip()
    cli.ok("clone", url, "c")
    monkeypatch.delenv("VCRDT_TOKEN")
    c = CliRunner(cli.cwd / "c")
    r = c("fetch")
    assert r.code == 1 and "HTTP 401" in r.err
    c.ok("config", "token.origin", token)
    srv.write("h.txt", "three\n")
    srv.ok("commit", "-A", "-m", "three")
    c.ok("fetch")
    assert _log(c)[0] == "three"


def test_credentials_in_the_url_are_refused_not_read(cli: CliRunner, served: tuple[CliRunner, str]) -> None:
    _, url = served
    r = cli("clone", url.replace("http://", "http://user:secret@"), "c")
    assert r.code == 1
    assert "credentials in an http(s) URL are not read" in r.err
    assert not (cli.cwd / "c").exists()


def test_unknown_repository_name_is_404(cli: CliRunner, served: tuple[CliRunner, str]) -> None:
    _, url = served
    r = cli("clone", url + "-nope", "c")
    assert r.code == 1 and "HTTP 404" in r.err and "no repository 'srv-nope' here" in r.err


def test_token_list_and_revoke(cli: CliRunner) -> None:
    srv = CliRunner(cli.cwd / "srv")
    cli.ok("init", "srv")
    doc = json.loads(srv.ok("token", "create", "--read", "--expires", "2", "--json").out)
    assert doc["scope"] == "read" and doc["token"].startswith("vcrdt_") and doc["expires"]
    listed = json.loads(srv.ok("token", "list", "--json").out)["tokens"]
    assert [t["id"] for t in listed] == [doc["id"]] and listed[0]["state"] == "active"
    assert "token" not in listed[0]
    assert doc["token"] not in (srv.cwd / ".vcrdt" / "store.db").read_bytes().decode("latin-1")
    srv.ok("token", "revoke", doc["id"])
    assert json.loads(srv.ok("token", "list", "--json").out)["tokens"][0]["state"] == "revoked"
    r = srv("token", "revoke", "nope")
    assert r.code == 1 and "no token with id 'nope'" in r.err
    r = srv("token", "create")
    assert r.code == 2
