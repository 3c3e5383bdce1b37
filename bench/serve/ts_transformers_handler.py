"""The stock TorchServe peer: a handler of the seed's shape (tokenize, model
forward, pooled output), as a team serving a sentence-transformers model with
TorchServe writes it: transformers' AutoTokenizer and AutoModel from the
archive's folder, padding to the batch's longest text, mean pooling over the
attention mask, L2 normalisation (what all-MiniLM-L6-v2's modules.json asks),
one {"embedding": [...]} per text.

model-config.yaml's `handler:` section: `compile: true` wraps the model in
torch.compile (inductor, dynamic shapes, warmed up at load so the first
request does not pay the C++ compile), `threads` (torch's intra-op threads,
default: the CPUs), `max_length` (default 256, the model's limit).

Only for bench/serve/compare; TorchServe's batching (batchSize,
maxBatchDelay) gathers requests into one handle() call, whose texts run as
one padded batch."""
import json
import os

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer
from ts.torch_handler.base_handler import BaseHandler


def _texts(row):
    """The texts of one request: a JSON {"inputs": str | [str]}, a JSON
    string or list, or a raw text body."""
    body = row.get("body", row.get("data")) if isinstance(row, dict) else row
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
        try:
            body = json.loads(body)
        except ValueError:
            pass
    if isinstance(body, dict):
        body = body.get("inputs", body.get("text"))
    if isinstance(body, str):
        return [body]
    if isinstance(body, list) and all(isinstance(t, str) for t in body):
        return body
    raise ValueError("a request needs {\"inputs\": text or [texts]}")


class TransformersEmbedder(BaseHandler):
    def initialize(self, context):
        self.context = context
        model_dir = context.system_properties["model_dir"]
        config = (getattr(context, "model_yaml_config", None) or {}).get("handler", {}) or {}
        torch.set_num_threads(int(config.get("threads", os.cpu_count() or 1)))
        self.max_length = int(config.get("max_length", 256))
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()
        if config.get("compile"):
            self.model = torch.compile(self.model, dynamic=True)
            # Inductor compiles on first call; two shapes so the dynamic
            # graph is the one requests hit.
            for n, words in ((1, 4), (3, 40)):
                self._embed(["warm up " * words] * n)
        self.initialized = True

    def _embed(self, texts):
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, p=2, dim=1)

    def preprocess(self, data):
        return [_texts(row) for row in data]

    def inference(self, batches, *args, **kwargs):
        flat = [t for texts in batches for t in texts]
        return self._embed(flat).tolist(), [len(texts) for texts in batches]

    def postprocess(self, result):
        vectors, counts = result
        out, k = [], 0
        for n in counts:
            out.append([{"embedding": v} for v in vectors[k:k + n]])
            k += n
        return out
