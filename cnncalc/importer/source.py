"""Resolve ``MODULE:CALLABLE`` or ``path/to/file.py:CALLABLE`` and build the model on the meta device.

Importing the user's module runs the user's code, as ``python -c`` would. The model is built
under ``torch.device("meta")``: its parameters take no memory and nothing is downloaded, since
no pretrained weights are asked for.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .refusal import ImportRefused, refuse

_IMPORTLIB = str(Path(importlib.__file__).parent).replace("\\", "/") + "/"


def _user_frame(err: BaseException) -> tuple[str | None, int | None]:
    """The innermost traceback frame outside cnncalc: where the user's code failed."""
    file, line = None, None
    for frame in traceback.extract_tb(err.__traceback__):
        # skip cnncalc's own frames and the import machinery's (importlib, <frozen importlib._bootstrap>)
        name = frame.filename.replace("\\", "/")
        if "/cnncalc/" not in name and not name.startswith("<") and not name.startswith(_IMPORTLIB):
            file, line = frame.filename, frame.lineno
    return file, line


def _failed(what: str, source: str, err: BaseException) -> ImportRefused:
    file, line = _user_frame(err)
    return refuse(f"{what}: {type(err).__name__}: {err}", layer=None, file=file or source, line=line)


def resolve(source: str) -> Any:
    """The object ``MODULE:CALLABLE`` or ``path/to/file.py:CALLABLE`` names (importing, so running, the module)."""
    where, sep, attr = source.rpartition(":")
    if not sep or not where or not attr:
        raise refuse("expected MODULE:CALLABLE or path/to/file.py:CALLABLE (e.g. torchvision.models:resnet50)",
                     file=source)
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise refuse("no such file", file=where)
            # the file's stem names its classes in the description's comments, unless a module has it
            name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else \
                f"_cnncalc_import_{abs(hash(str(path.resolve())))}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise refuse("cannot be imported as a Python module", file=where)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            # the file's own folder first, so that it can import its neighbours, as `python file.py` can
            sys.path.insert(0, str(path.parent.resolve()))
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.parent.resolve()))
        else:
            module = importlib.import_module(where)
    except ImportRefused:
        raise
    except Exception as err:  # the user's module raised while being imported: report it, located
        raise _failed(f"importing '{where}' failed", where, err) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise refuse(f"'{where}' has no attribute '{attr}'", file=where)
        obj = getattr(obj, part)
    if not callable(obj):
        raise refuse(f"'{attr}' is not callable: give an nn.Module class or a function that returns one", file=where)
    return obj


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Only parameters and buffers go to the meta device; other tensors the constructor makes stay real."""
    from torch import nn

    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(module: Any, name: str, param: Any) -> None:
        register_parameter(module, name, param)
        if param is not None:
            p = module._parameters[name]
            module._parameters[name] = type(p)(p.to("meta"), requires_grad=p.requires_grad)

    def buffer(module: Any, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(module, name, tensor, persistent)
        if tensor is not None:
            module._buffers[name] = module._buffers[name].to("meta")

    nn.Module.register_parameter = parameter  # type: ignore[assignment,method-assign]
    nn.Module.register_buffer = buffer  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


def build(source: str, kwargs: Mapping[str, Any] | None = None) -> Any:
    """The ``nn.Module`` that ``SOURCE(**kwargs)`` returns, built on the meta device and put in eval mode."""
    import torch
    from torch import nn

    factory = resolve(source)
    try:
        with torch.device("meta"):
            model = factory(**dict(kwargs or {}))
    except Exception:  # a constructor that computes with tensors (RegNet's .tolist()) cannot run on meta
        try:
            with _parameters_on_meta():
                model = factory(**dict(kwargs or {}))
        except Exception as err:  # the user's constructor raised
            raise _failed(f"building the model with {source}(**kwargs) failed", source, err) from None
    if not isinstance(model, nn.Module):
        raise refuse(f"{source} returned {type(model).__name__}, not a torch.nn.Module", file=source)
    return model.eval()
