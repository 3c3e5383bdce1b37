"""sinter as a TorchServe handler: a team that already deploys with
TorchServe keeps its archives, management API, batching and metrics, and
swaps the handler.

The archive holds the model folder (its files at the archive's root) and a
handler file naming this module. torch-model-archiver 0.12 copies the
handler from a file (`--handler sinter.torchserve:Handler` makes it look
for `sinter.torchserve.py` in the current folder), so the handler file is
one line:

    echo 'from sinter.torchserve import handle' > sinter_handler.py
    torch-model-archiver --model-name minilm --version 1.0 --handler sinter_handler.py \\
        --extra-files all-MiniLM-L6-v2 --config-file model-config.yaml \\
        --export-path model_store

(or `class Handler(sinter.torchserve.Handler): ...` in that file, to
customise it: TorchServe takes a module's only class as its handler.)
model-config.yaml sets TorchServe's batching and sinter's options:

    minWorkers: 1          # one worker: sinter's threads use the cores
    maxWorkers: 1
    batchSize: 16          # requests TorchServe gathers into one handle() call
    maxBatchDelay: 5       # ms it waits to fill a batch
    handler:
      cache: s3://bucket/prefix   # or a folder; default $SINTER_CACHE_URL / _DIR
      threads: 2                  # default: the CPUs / maxWorkers
      dtype: f32                  # f32, bf16 or int8
      # model: sub/folder or file.sinter (default: the archive's root, or
      #        --serialized-file NAME.sinter), normalize, pooling, max_tokens

The folder is opened through sinter's compile cache: with an S3 cache a new
TorchServe instance downloads the artifact compiled by the first one instead
of compiling (credentials from AWS_* in TorchServe's environment). No torch
module is loaded, pickled or otherwise.

Each request is a raw text body (text/plain or bytes), a JSON string or list
of strings, or a JSON object with "inputs", "text" or "data" (TorchServe's
own "data" and "body" parameters are unwrapped first); a classifier also
takes pairs ([text, pair] items or {"text", "text_pair"}). The texts of every
request in TorchServe's batch run as one padding-free sinter batch. Each
request is answered with one entry per text: {"embedding": [...]} for an
encoder (the seed handler's shape), {"label", "score", "scores": {label:
probability}} for a classifier. A request that cannot be read is answered
400 with TorchServe's error shape, without failing the rest of its batch.
"""
import json
import logging
import os
import time

import sinter

try:
    from ts.handler_utils.timer import timed
    from ts.torch_handler.base_handler import BaseHandler
except ImportError as e:  # TorchServe (and torch) are the deployment's, not sinter's
    raise ImportError("sinter.torchserve is a TorchServe handler: it needs the torchserve "
                      "package and torch (pip install torchserve torch)") from e

logger = logging.getLogger(__name__)

_KEYS = ("inputs", "text", "data", "body")  # where a JSON object holds its texts
_OPTIONS = ("model", "cache", "threads", "dtype", "max_tokens", "calibration", "normalize",
            "pooling", "profile")


class BadRequest(ValueError):
    """A request this handler cannot read: answered 400, naming what is wrong."""


class _Failed:
    """A request's error answer: its HTTP status and TorchServe's error body."""

    _TYPES = {400: ("BadRequestException", "Bad Request"),
              413: ("RequestEntityTooLargeException", "Payload Too Large"),
              507: ("InsufficientStorageException", "Insufficient Storage"),
              500: ("InternalServerException", "Internal Server Error")}

    def __init__(self, code, message):
        self.code, self.message = code, message

    @classmethod
    def of(cls, e):
        """What a request's exception answers: a bad input 400, a sinter
        limit 413, out of memory 507 (as TorchServe answers it), else 500."""
        if isinstance(e, (BadRequest, TypeError, ValueError)):
            return cls(400, str(e))
        kind = e.args[1] if isinstance(e, sinter.Error) and len(e.args) > 1 else ""
        code = {"invalid argument": 400, "limit exceeded": 413, "out of memory": 507}.get(kind, 500)
        return cls(code, str(e.args[0]) if e.args else str(e))

    def body(self):
        return {"code": self.code, "type": self._TYPES[self.code][0], "message": self.message}


class Handler(BaseHandler):
    """The TorchServe handler (a ts BaseHandler). initialize opens the model
    through the compile cache; handle answers a batch of requests with one
    sinter call. One instance per worker process; TorchServe calls it from
    one thread."""

    def __init__(self):
        super().__init__()
        self.options = {}
        self.requests = self.batches = self.largest_batch = 0
        self.load_seconds = 0.0

    # ---------------------------------------------------------------- loading

    def initialize(self, context):
        """Opens the model named by the archive (see the module's doc).
        Never calls BaseHandler.initialize: that one loads torch modules."""
        t0 = time.monotonic()
        self.context = context
        self.manifest = context.manifest or {}
        self.model_yaml_config = getattr(context, "model_yaml_config", None) or {}
        options = dict(self.model_yaml_config.get("handler") or {})
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            logger.warning("sinter: unknown handler options in the model config ignored: %s",
                           ", ".join(unknown))
        self.options = options
        model_dir = context.system_properties.get("model_dir") or "."
        path = self._model_path(model_dir)
        self.model = sinter.Model(path, cache=options.get("cache"),
                                  dtype=options.get("dtype", "f32"),
                                  threads=self._threads(), max_tokens=options.get("max_tokens"),
                                  calibration=options.get("calibration"))
        self.is_classifier = self.model.info["num_labels"] > 0
        self.device = "cpu"
        self.load_seconds = time.monotonic() - t0
        info = self.model.info
        logger.info("sinter: %s (%s, %s) from %s in %.2f s, key %s", path, info["architecture"],
                    "classifier" if self.is_classifier else f"hidden {info['hidden_size']}",
                    info["origin"], self.load_seconds, info["content_key"][:16])
        self.initialized = True

    def _model_path(self, model_dir):
        """The folder or artifact to open: the config's handler.model, else a
        .sinter serialized file, else the archive's root (the model folder's
        files, as --extra-files FOLDER puts them)."""
        given = self.options.get("model")
        if given:
            path = os.path.join(model_dir, os.fspath(given))  # an absolute one stays absolute
            if not os.path.exists(path):
                raise FileNotFoundError(f"handler.model {given!r}: no such file or folder in "
                                        f"the archive ({model_dir}) or on this machine")
            return path
        serialized = (self.manifest.get("model") or {}).get("serializedFile")
        if serialized and serialized.endswith(".sinter"):
            return os.path.join(model_dir, serialized)
        if os.path.isfile(os.path.join(model_dir, "config.json")):
            return model_dir
        raise FileNotFoundError(
            f"{model_dir}: no model in the archive: expected the model folder's files at its "
            "root (torch-model-archiver --extra-files FOLDER), a --serialized-file NAME.sinter, "
            "or handler.model in the model config (--config-file)")

    def _threads(self):
        """handler.threads, else the CPUs shared among the configured workers
        (each worker is a process with its own sinter threads)."""
        if self.options.get("threads"):
            return int(self.options["threads"])
        workers = self.model_yaml_config.get("maxWorkers") or self.model_yaml_config.get(
            "minWorkers")
        if workers:
            return max(1, sinter.cpu_count() // int(workers))
        return None

    # ------------------------------------------------------------- a batch

    @timed  # ts_handler_* metrics with handler: profile: true
    def preprocess(self, data):
        """Per request: (texts, pairs or None), or its failure (_Failed)."""
        out = []
        for row in data:
            try:
                out.append(self.read_request(row))
            except BadRequest as e:
                out.append(_Failed.of(e))
        return out

    def read_request(self, row):
        """One request's texts and pairs from what TorchServe hands a handler
        (a dict of its parameters: "body", or "data" for a form field), or
        from the body itself."""
        if isinstance(row, dict) and ("data" in row or "body" in row):
            value = row.get("data") if row.get("data") is not None else row.get("body")
        elif isinstance(row, dict) and not any(k in row for k in _KEYS):
            # A form post (curl -d TEXT) arrives as parameters, or as none at all.
            fields = f" (form fields: {', '.join(repr(k) for k in list(row)[:4])})" if row else ""
            raise BadRequest(f"no body in the request{fields}: send the text as text/plain, "
                             "or JSON such as {\"inputs\": [texts]}")
        else:
            value = row
        items = _items(_decoded(value))
        texts = [t for t, _ in items]
        pairs = [p for _, p in items]
        if not any(p is not None for p in pairs):
            return texts, None
        if not self.is_classifier:
            raise BadRequest("a text pair needs a classifier (a cross-encoder); this model is "
                             "an encoder: send single texts")
        return texts, pairs

    @timed
    def inference(self, data, *args, **kwargs):
        """One sinter call for the texts of every readable request (they are
        packed without padding); requests are rerun one by one only if that
        call fails, so that its error goes to the request that caused it."""
        self.requests += len(data)
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(data))
        good = [r for r in data if not isinstance(r, _Failed)]
        if not good:
            return data
        try:
            outputs = self._run(good)
        except (sinter.Error, ValueError, TypeError):
            outputs = []
            for r in good:
                try:
                    outputs.extend(self._run([r]))
                except (sinter.Error, ValueError, TypeError) as e:
                    outputs.append(_Failed.of(e))
        out, at = [], 0
        for r in data:
            if isinstance(r, _Failed):
                out.append(r)
            else:
                out.append(outputs[at])
                at += 1
        return out

    def _run(self, requests):
        """Per request, its rows: embeddings, or a classifier's probabilities."""
        texts, pairs, counts = [], [], []
        for t, p in requests:
            texts.extend(t)
            pairs.extend(p if p is not None else [None] * len(t))
            counts.append(len(t))
        if not texts:
            return [[] for _ in requests]
        o = self.options
        if self.is_classifier:
            _, rows = self.model.classify(texts, pairs if any(x is not None for x in pairs)
                                          else None)
        else:
            rows = self.model.encode(texts, normalize=o.get("normalize"),
                                     pooling=o.get("pooling"))
        out, at = [], 0
        for n in counts:
            out.append(rows[at:at + n])
            at += n
        return out

    @timed
    def postprocess(self, data):
        """Each request's answer as compact JSON (its status set on the
        context: 200, or the failure's code)."""
        labels = self.model.labels
        out = []
        for idx, r in enumerate(data):
            if isinstance(r, _Failed):
                body = r.body()
                self._status(idx, r.code, r._TYPES[r.code][1])
            elif self.is_classifier:
                body = []
                for row in r:
                    best = int(row.argmax())
                    body.append({"label": labels[best], "score": float(row[best]),
                                 "scores": {lab: float(s) for lab, s in zip(labels, row)}})
            else:
                body = [{"embedding": row.tolist()} for row in r]
            out.append(json.dumps(body, separators=(",", ":")))
            if self.context is not None and self.context.request_processor:
                self.context.set_response_content_type(idx, "application/json")
        return out

    def _status(self, idx, code, phrase):
        if self.context is not None and self.context.request_processor:
            self.context.set_response_status(code, phrase, idx)

    def describe_handle(self):
        """GET /models/NAME?customized=true: the model, where its program came
        from (compiled, local_cache, remote_cache, file) and this worker's
        batching so far."""
        i = self.model.info
        return json.dumps({
            "engine": "sinter", "version": sinter.__version__, "path": self.model.path,
            "architecture": i["architecture"], "hidden_size": i["hidden_size"],
            "labels": list(i["labels"]), "dtype": ["f32", "bf16", "int8"][i["dtype"]],
            "origin": i["origin"], "content_key": i["content_key"],
            "load_seconds": round(self.load_seconds, 3), "requests": self.requests,
            "batches": self.batches, "largest_batch": self.largest_batch})


def _decoded(value):
    """A body TorchServe left as bytes (no JSON or text content type) as
    text, and as JSON when it is JSON (a client that did not say so)."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRequest(f"the body is not UTF-8 text (byte {e.start})") from None
        if value.lstrip()[:1] in ("{", "[", '"'):
            try:
                return json.loads(value)
            except ValueError:
                pass  # text that starts like JSON
    return value


def _items(value):
    """[(text, pair or None)] of a body: a string, a list of strings or
    pairs, or an object holding them under one of _KEYS."""
    if isinstance(value, str):
        return [(value, None)]
    if isinstance(value, dict):
        key = next((k for k in _KEYS if k in value), None)
        if key is None:
            raise BadRequest("the JSON body needs \"inputs\" (or \"text\" or \"data\"): a text "
                             "or a list of texts")
        inner = _decoded(value[key])
        pair = value.get("text_pair")
        if pair is not None:
            if not isinstance(inner, str) or not isinstance(pair, str):
                raise BadRequest("\"text_pair\" goes with one \"text\", both strings")
            return [(inner, pair)]
        return _items(inner)
    if isinstance(value, list):
        out = []
        for k, item in enumerate(value):
            if isinstance(item, str):
                out.append((item, None))
            elif (isinstance(item, list) and len(item) == 2
                  and all(isinstance(s, str) for s in item)):
                out.append((item[0], item[1]))
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                pair = item.get("text_pair")
                if pair is not None and not isinstance(pair, str):
                    raise BadRequest(f"inputs[{k}].text_pair: expected a string")
                out.append((item["text"], pair))
            else:
                raise BadRequest(f"inputs[{k}]: expected a string (or a [text, pair] of two "
                                 f"strings), not {type(item).__name__}")
        return out
    raise BadRequest("expected a text, a list of texts, or a JSON object with \"inputs\", "
                     f"not {type(value).__name__}")


_service = None


def handle(data, context):
    """TorchServe's function entry point (a handler file holding `from
    sinter.torchserve import handle`): the first call (data None) opens the
    model, each later one answers a batch, with one Handler per worker."""
    global _service
    if _service is None:
        _service = Handler()
    if not _service.initialized:
        _service.initialize(context)
    if data is None:
        return None
    return _service.handle(data, context)


__all__ = ["Handler", "handle", "BadRequest"]
