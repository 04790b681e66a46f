"""The explorer's web API and page: one route per question the page asks.

    GET  /api/models                         the models this server was started with
    GET  /api/labels/{lang}                  the page's words (en, ko)
    GET  /api/models/{m}/network             nodes, shapes, parameters, receptive fields, filters
    POST /api/models/{m}/input               an uploaded picture or signal, as the model sees it
    GET  /api/models/{m}/examples/{i}        test example i of the model's dataset
    POST /api/models/{m}/predict             class probabilities
    POST /api/models/{m}/activations         every layer's feature maps
    POST /api/models/{m}/cell                the numbers behind one output value
    POST /api/models/{m}/explain             Grad-CAM / Grad-CAM++ / saliency
    POST /api/models/{m}/backward            loss, gradient maps and one SGD step
    GET  /api/models/{m}/run                 a run's curves, metrics, confusion matrix
    GET  /openapi.json                       the schema of all of the above

Every answer is computed by convlens (summary, explain's trace, forward hooks, Grad-CAM); the
page only draws. Requests name a served model, never a path. Bodies are limited in size
(:class:`BodyLimit`), pictures in pixels (:mod:`.inputs`); bad input of any kind gets a 4xx
with ``{"detail": message}``. Handlers are plain functions, which the server runs in a thread
pool, and each thread has its own copy of each model, so a slow request blocks no other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convlens.explorer import backward as backward_view
from convlens.explorer import forward, runs, why
from convlens.explorer.inputs import InputError, from_payload, from_upload, prepare_payload
from convlens.explorer.labels import page_labels
from convlens.explorer.models import ServedModel
from convlens.explorer.network import network
from convlens.explorer.payload import array_json

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 6 * 1024 * 1024


class BodyLimit:
    """ASGI middleware: refuse a request body larger than ``limit`` bytes with 413, whether it
    announces its length or streams it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send, int(length) if length.isdigit() else None)
            return
        # read the whole body first (at most `limit` bytes), then hand it on in one message
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return                                   # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send, None if message.get("more_body") else seen, seen)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int | None, seen: int | None = None) -> None:
        if size is not None:
            got = f"{size:,} bytes"
        elif seen is not None:
            got = f"more than {seen:,} bytes"
        else:
            got = "an unreadable Content-Length"
        body = json.dumps({"detail": f"the request body may hold at most {self.limit:,} bytes, "
                                     f"received {got}"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# -- request bodies (documented in /openapi.json) ---------------------------------------------
class InputBody(BaseModel):
    """One input: exactly one of ``input``, ``image`` or ``signal``."""

    input: Any = Field(None, description="the array itself, nested lists of shape (C, *S)")
    image: str | None = Field(None, description="a picture as a data: URL or base64 (PNG, JPEG, …)")
    signal: str | None = Field(None, description="numbers as text for a 1-D model")


class ActivationsBody(InputBody):
    depth: int | None = Field(None, description="depth slice shown of 3-D maps (default: middle)")


class CellBody(InputBody):
    layer: int = Field(..., description="index of the layer call (a node of /network)")
    index: list[int] = Field(..., description="(channel, *position) of a map, or (k,) of a vector")


class SoftmaxBody(InputBody):
    pass


class ExplainBody(InputBody):
    method: str = Field("grad-cam", description="grad-cam, grad-cam++ or saliency")
    target: int | None = Field(None, description="class to explain (default: the predicted one)")
    layer: str | None = Field(None, description="dotted layer name (default: the last convolution)")


class BackwardBody(InputBody):
    label: int = Field(..., description="the label the step learns")
    lr: float = Field(0.1, description="SGD learning rate")
    lang: str = Field("en", description="language of the narration: en or ko")


async def require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, f"expected Content-Type application/json, received {kind or 'none'}")


def _validation_message(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        if e.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON: {e.get('ctx', {}).get('error', e.get('msg'))}")
        else:
            parts.append(f"{where or 'body'}: {e.get('msg')}")
    return "; ".join(parts) or "invalid request"


def create_app(models: dict[str, ServedModel], max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The explorer for exactly ``models`` (name → :class:`ServedModel`)."""
    if not models:
        raise ValueError("expected at least one model to serve, received none")
    # no /docs or /redoc: FastAPI's pages load their scripts from a CDN, and the explorer loads
    # nothing from the internet; the schema itself is /openapi.json
    app = FastAPI(title="convlens explorer", version="1", docs_url=None, redoc_url=None,
                  description="See a CNN think, with its own numbers. Every value is computed by convlens.")
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    networks: dict[str, tuple[int, dict[str, Any]]] = {}

    @app.exception_handler(InputError)
    async def _input_error(request: Request, err: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    @app.exception_handler(ValueError)
    async def _value_error(request: Request, err: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(err)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the explorer failed on this request: {type(err).__name__}: "
                                       f"{err}"}, status_code=500)

    def served(name: str) -> ServedModel:
        if name not in models:
            raise HTTPException(404, f"no model named {name!r} is served; served: {', '.join(models)}")
        return models[name]

    def net(name: str) -> dict[str, Any]:
        model = served(name)
        version = model._version           # a run's newer weights: new filters
        if name not in networks or networks[name][0] != version:
            networks[name] = (version, network(model))
        return networks[name][1]

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/models", summary="The models this server was started with")
    def list_models() -> dict[str, Any]:
        return {"models": [{"name": m.name, "kind": m.kind, "input_shape": list(m.input_shape),
                            "classes": list(m.class_names), "dataset": m.dataset,
                            "run": m.run_dir is not None} for m in models.values()]}

    @app.get("/api/labels/{lang}", summary="The page's words in one language")
    def get_labels(lang: str) -> dict[str, str]:
        if lang not in ("en", "ko"):
            raise HTTPException(404, f"expected lang en or ko, received {lang!r}")
        return page_labels(lang)

    @app.get("/api/models/{name}/network", summary="Layers: shapes, parameters, receptive fields")
    def get_network(name: str) -> dict[str, Any]:
        return net(name)

    @app.post("/api/models/{name}/input", summary="An uploaded picture or signal, as the model sees it",
              openapi_extra={"requestBody": {"content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                         for t in ("image/png", "image/jpeg", "text/csv")}}})
    async def upload(name: str, request: Request) -> dict[str, Any]:
        model = served(name)
        data = await request.body()
        if not data:
            raise InputError("the upload is empty: send the bytes of a picture or a signal")
        x, steps = from_upload(model, request.headers.get("content-type", ""), data)
        return {"input": array_json(x), "shape": list(x.shape), "steps": steps}

    @app.get("/api/models/{name}/examples/{index}", summary="A test example of the model's dataset")
    def example(name: str, index: int) -> dict[str, Any]:
        model = served(name)
        if model.dataset is None:
            raise HTTPException(404, f"model {name!r} has no dataset to take examples from")
        data = model.data
        count = len(data.y_test)
        if not 0 <= index < count:
            raise HTTPException(404, f"expected an example index in [0, {count - 1}], received {index}")
        x = np.asarray(data.x_test[index], dtype=np.float32)
        label = int(data.y_test[index])
        return {"input": array_json(x), "label": label, "count": count,
                "class_name": model.class_names[label] if label < len(model.class_names) else str(label)}

    @app.post("/api/models/{name}/predict", summary="Class probabilities of one input",
              dependencies=[Depends(require_json)])
    def predict(name: str, body: InputBody) -> dict[str, Any]:
        model = served(name)
        return forward.predict(model, from_payload(model, body.model_dump()))

    @app.post("/api/models/{name}/activations", summary="Every layer's output for one input",
              dependencies=[Depends(require_json)])
    def activations(name: str, body: ActivationsBody) -> dict[str, Any]:
        model = served(name)
        x, steps = prepare_payload(model, body.model_dump())
        return {**forward.activations(model, x, body.depth), "steps": steps}

    @app.post("/api/models/{name}/cell", summary="The numbers behind one output value",
              dependencies=[Depends(require_json)])
    def cell(name: str, body: CellBody) -> dict[str, Any]:
        model = served(name)
        x = from_payload(model, body.model_dump())
        return forward.cell(model, x, body.layer, body.index, net(name)["nodes"])

    @app.post("/api/models/{name}/softmax", summary="Softmax written out: logits and exponentials",
              dependencies=[Depends(require_json)])
    def softmax(name: str, body: SoftmaxBody) -> dict[str, Any]:
        model = served(name)
        logits = forward.predict(model, from_payload(model, body.model_dump()))["logits"]
        return forward.softmax_detail(np.asarray(logits))

    @app.post("/api/models/{name}/explain", summary="Grad-CAM, Grad-CAM++ or saliency",
              dependencies=[Depends(require_json)])
    def explain(name: str, body: ExplainBody) -> dict[str, Any]:
        model = served(name)
        return why.explain_class(model, from_payload(model, body.model_dump()), body.method,
                                 body.target, body.layer)

    @app.post("/api/models/{name}/backward", summary="Loss, gradient maps and one SGD step",
              dependencies=[Depends(require_json)])
    def backward(name: str, body: BackwardBody) -> dict[str, Any]:
        model = served(name)
        if body.lang not in ("en", "ko"):
            raise InputError(f"expected lang en or ko, received {body.lang!r}")
        return backward_view.backward_step(model, from_payload(model, body.model_dump()), body.label,
                                           body.lr, body.lang)

    @app.get("/api/models/{name}/run", summary="A run's curves, test metrics and confusion matrix")
    def run(name: str) -> dict[str, Any]:
        return runs.run_record(served(name))

    return app
