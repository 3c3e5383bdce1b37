"""sinter.SentenceTransformer: a drop-in for sentence_transformers'
SentenceTransformer over a local folder, so that switching is one line:

    from sinter import SentenceTransformer   # was: from sentence_transformers import ...
    model = SentenceTransformer("path/to/all-MiniLM-L6-v2")
    embeddings = model.encode(sentences, batch_size=64, normalize_embeddings=True)

encode takes the arguments real code passes and returns the same shapes and
values (the folder's Pooling and Normalize modules are honoured). Models are
read from local folders only: nothing is downloaded.
"""
import os
import sys
import time

import numpy as np


class _Progress:
    """tqdm when it is installed, else a one-line bar on stderr."""

    def __init__(self, total, enabled):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc="Batches", unit="batch")
        except ImportError:
            self.t0 = time.monotonic()
            self._draw()

    def _draw(self):
        width = 30
        filled = width * self.done // max(self.total, 1)
        rate = self.done / max(time.monotonic() - self.t0, 1e-9)
        sys.stderr.write(f"\rBatches: {self.done}/{self.total} [{'#' * filled}{'.' * (width - filled)}]"
                         f" {rate:.1f} batch/s")
        sys.stderr.flush()

    def update(self):
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
        else:
            self._draw()

    def close(self):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")


class SentenceTransformer:
    """model_name_or_path: a local sentence-transformers folder (or a .sinter
    artifact). device is accepted and ignored (sinter runs on the CPU);
    cache_folder is the compile cache (a folder or s3://...)."""

    def __init__(self, model_name_or_path, device=None, cache_folder=None, truncate_dim=None,
                 threads=None, dtype="f32", **kwargs):
        from . import Model  # late: the package imports this module
        if not os.path.exists(os.fspath(model_name_or_path)):
            raise OSError(f"{model_name_or_path}: no such folder (sinter reads local folders "
                          "only; nothing is downloaded)")
        self.model = Model(model_name_or_path, cache=cache_folder, dtype=dtype, threads=threads)
        self.truncate_dim = truncate_dim
        self.device = "cpu"

    @property
    def max_seq_length(self):
        return self.model.info["max_seq_length"]

    def get_sentence_embedding_dimension(self):
        return self.truncate_dim or self.model.info["embedding_dim"]

    def get_max_seq_length(self):
        return self.max_seq_length

    def tokenize(self, texts):
        rows = self.model.tokenize(list(texts))
        return {"input_ids": [r["input_ids"] for r in rows],
                "token_type_ids": [r["token_type_ids"] for r in rows]}

    def encode(self, sentences, prompt_name=None, prompt=None, batch_size=32,
               show_progress_bar=None, output_value="sentence_embedding", precision="float32",
               convert_to_numpy=True, convert_to_tensor=False, device=None,
               normalize_embeddings=False, truncate_dim=None, **kwargs):
        prompt = self.model.prompt(prompt_name, prompt)
        if precision != "float32":
            raise ValueError(f"precision {precision!r}: sinter's drop-in returns float32 only")
        if output_value not in ("sentence_embedding", "token_embeddings", None):
            raise ValueError(f"output_value {output_value!r} is not supported")
        one = isinstance(sentences, str) or not hasattr(sentences, "__len__")
        texts = [sentences] if one else list(sentences)
        if prompt:
            texts = [prompt + t for t in texts]
        dim = truncate_dim or self.truncate_dim
        n_batches = (len(texts) + batch_size - 1) // batch_size
        progress = _Progress(n_batches, bool(show_progress_bar))
        parts = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            if output_value == "token_embeddings":
                parts.extend(self.model.token_embeddings(chunk, batch_size=batch_size))
            else:
                emb = self.model.encode(chunk, batch_size=batch_size,
                                        normalize=True if normalize_embeddings else None)
                if dim:
                    emb = emb[:, :dim]
                    if normalize_embeddings:
                        emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
                parts.append(emb)
            progress.update()
        progress.close()
        if output_value == "token_embeddings":
            out = parts
            return out[0] if one else out
        dims = dim or self.model.info["embedding_dim"]
        out = np.concatenate(parts) if parts else np.zeros((0, dims), dtype=np.float32)
        if convert_to_tensor:
            import torch
            out = torch.from_numpy(np.ascontiguousarray(out))
            return out[0] if one else out
        if not convert_to_numpy:
            rows = list(out)
            return rows[0] if one else rows
        return out[0] if one else out

    def similarity(self, a, b):
        """Cosine similarity matrix of two embedding batches (as
        sentence-transformers' default similarity_fn_name, "cosine")."""
        a = np.atleast_2d(np.asarray(a, dtype=np.float32))
        b = np.atleast_2d(np.asarray(b, dtype=np.float32))
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return a @ b.T
