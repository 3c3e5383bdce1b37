"""sinter on Ray, for work bigger than one machine.

Offline, Ray Data: each actor opens the model once (through the shared compile
cache: a fresh node downloads the artifact instead of compiling) and embeds its
batches.

    ds = ray.data.read_parquet(...)
    ds = ds.map_batches(sinter.ray.Embedder, fn_constructor_kwargs={"model": path,
                        "cache": "s3://bucket/prefix"}, concurrency=4, batch_size=256)

Online, Ray Serve: a deployment answering TEI-shaped requests, with Serve's
own batching off (sinter packs each request padding-free), replicas that scale:

    serve run sinter.ray:app model=/models/minilm replicas=2

POST / with {"inputs": "text" or [texts]} answers [[floats]] for an encoder and
[{"label", "score"}] for a classifier.
"""
import asyncio


from . import Model


class Embedder:
    """A Ray Data callable class: adds `output_column` (float32 [n, hidden])
    computed from the strings of `column`."""

    def __init__(self, model, cache=None, column="text", output_column="embedding",
                 normalize=None, threads=None, batch_size=32):
        self.model = Model(model, cache=cache, threads=threads)
        self.column, self.output_column = column, output_column
        self.normalize, self.batch_size = normalize, batch_size

    def __call__(self, batch):
        texts = [str(t) for t in batch[self.column]]
        batch[self.output_column] = self.model.encode(texts, batch_size=self.batch_size,
                                                      normalize=self.normalize)
        return batch


class Deployment:
    """The Ray Serve deployment's class (see `app`)."""

    def __init__(self, model, cache=None, threads=None):
        self.model = Model(model, cache=cache, threads=threads)

    def answer(self, inputs):
        one = isinstance(inputs, str)
        texts = [inputs] if one else [str(t) for t in inputs]
        if self.model.info["num_labels"] > 0:
            labels, scores = self.model.classify(texts)
            out = [{"label": label, "score": float(row.max())} for label, row in zip(labels, scores)]
        else:
            out = self.model.encode(texts).tolist()
        return out

    async def __call__(self, request):
        body = await request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else body
        if inputs is None:
            from starlette.responses import JSONResponse
            return JSONResponse({"error": "`inputs` is missing", "error_type": "Validation"},
                                status_code=422)
        # The GIL is released inside: requests on one replica overlap.
        return await asyncio.to_thread(self.answer, inputs)


def deployment(num_replicas=1, **ray_actor_options):
    """The Serve deployment class, decorated (imports ray.serve lazily)."""
    from ray import serve
    return serve.deployment(Deployment, num_replicas=num_replicas,
                            ray_actor_options=ray_actor_options or None)


def app(args):
    """The application builder for `serve run sinter.ray:app model=PATH
    [cache=URL] [replicas=N] [threads=N] [num_cpus=X]` (num_cpus: what Ray
    reserves per replica, default 1)."""
    threads = int(args["threads"]) if "threads" in args else None
    replicas = int(args.get("replicas", 1))
    num_cpus = float(args.get("num_cpus", 1))
    return deployment(num_replicas=replicas, num_cpus=num_cpus).bind(args["model"],
                                                                     args.get("cache"), threads)


__all__ = ["Embedder", "Deployment", "deployment", "app"]
