"""sinter: BERT-family encoders compiled ahead of time, from Python.

    import sinter
    m = sinter.Model("path/to/all-MiniLM-L6-v2")       # a folder or a .sinter artifact
    m.encode(["A sentence.", "Another one."])           # numpy float32 [2, 384]
    sinter.SentenceTransformer("path/to/folder").encode(sentences)   # the drop-in

A model folder is compiled once and cached (local, or s3:// with `cache=`);
the next process loads the artifact. Calls release the GIL while they tokenize
and compute, so Python threads overlap. Errors raise sinter.Error with
sinter's message, which names the file, field or limit.
"""
import os
import warnings

import numpy as np

from . import _sinter
from ._sinter import Error
from .drop_in import SentenceTransformer
from .torch_backend import compile  # noqa: A004 - sinter.compile(model), torch stays unimported

__version__ = _sinter.version
__all__ = ["Model", "SentenceTransformer", "Error", "SinterWarning", "compile", "cpu_count",
           "__version__"]


class SinterWarning(UserWarning):
    """What loading a model said without failing: unexpected tensors in the
    folder, a cache that could not be used, int8 not measured for a family."""

_DTYPES = {"f32": 0, "float32": 0, "bf16": 1, "bfloat16": 1, "int8": 2}
_POOLING = {None: 0, "cls": 1, "mean": 2, "max": 3, "mean_sqrt_len": 4, "lasttoken": 5,
            "weightedmean": 6}
_TRUNCATION = {"right": 0, "left": 1, "none": 2}


def cpu_count():
    """The CPUs this process may use (its affinity and cgroup quota)."""
    return _sinter.cpu_count()


def _as_ids(x):
    """One input's token ids as contiguous int32, refusing what is not a 1-D
    sequence of integers (a float or a nested list is no token id)."""
    a = np.asarray(x)
    if a.ndim != 1 or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        raise TypeError(f"token ids must be a 1-D sequence of integers, not {a.dtype} with "
                        f"shape {a.shape}")
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise ValueError("token ids must fit in int32")
    return np.ascontiguousarray(a, dtype=np.int32)


class Model:
    """A model folder or .sinter artifact, compiled and ready to run.

    cache: None (the local cache: $SINTER_CACHE_DIR, else ~/.cache/sinter), a
    folder, or "s3://bucket/prefix" (S3 in front of the local cache).
    dtype: "f32", "bf16" or "int8" (the compiled matmul precision).
    threads: compute threads per call (default: the CPUs this process may use).
    calibration: int8 only, a text file (one sample per line) to calibrate on
    instead of the built-in English sentences; part of the cache key.
    sparse: compile with SPLADE sparse output (a *ForMaskedLM folder), so that
    encode_sparse needs no second program; every call then also computes the
    vocabulary logits. Without it, the first encode_sparse opens one.
    """

    def __init__(self, path, cache=None, dtype="f32", threads=None, max_tokens=None,
                 calibration=None, sparse=False):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of f32, bf16, int8, not {dtype!r}")
        if calibration is not None and _DTYPES[dtype] != _DTYPES["int8"]:
            raise ValueError("calibration goes with dtype='int8'")
        cache_dir = cache_url = None
        if cache is not None:
            cache = os.fspath(cache)
            if cache.startswith("s3://"):
                cache_url = cache
            else:
                cache_dir = cache
        self.path = os.fspath(path)
        self._open = (self.path, cache_dir, cache_url, _DTYPES[dtype], threads or 0,
                      max_tokens or 0, 0, None if calibration is None else os.fspath(calibration))
        self._p = _sinter.Program(*self._open, bool(sparse))
        self._sparse_p = self._p if sparse else None
        self.info = self._p.info()
        for message in self.info["warnings"]:
            warnings.warn(f"sinter: {message}", SinterWarning, stacklevel=2)

    def __repr__(self):
        i = self.info
        return f"sinter.Model({self.path!r}, {i['architecture']}, hidden={i['hidden_size']})"

    @property
    def labels(self):
        return list(self.info["labels"])

    def _run(self, inputs, pairs=None, want=0, batch_size=32, normalize=None, pooling=None,
             truncation="right", rerank_template=None, rerank_instruction=None, program=None):
        if pooling not in _POOLING:
            raise ValueError("pooling must be one of cls, mean, max, mean_sqrt_len, lasttoken, "
                             f"weightedmean, not {pooling!r}")
        norm = 0 if normalize is None else (1 if normalize else -1)
        inputs = list(inputs)
        p = program or self._p
        if inputs and not isinstance(inputs[0], str):  # token ids
            data, width, tokens = p.run(ids=[_as_ids(x) for x in inputs], want=want,
                                        batch_size=batch_size, normalize=norm,
                                        pooling=_POOLING[pooling])
        else:
            data, width, tokens = p.run(texts=inputs,
                                        pairs=None if pairs is None else list(pairs),
                                        want=want, batch_size=batch_size, normalize=norm,
                                        pooling=_POOLING[pooling],
                                        truncation=_TRUNCATION[truncation],
                                        rerank_template=rerank_template,
                                        rerank_instruction=rerank_instruction)
        return np.frombuffer(data, dtype=np.float32).reshape(-1, width), tokens

    def prompt(self, prompt_name=None, prompt=None):
        """The text put before each input, as sentence-transformers resolves it:
        `prompt` itself, else the folder's prompt `prompt_name`
        (config_sentence_transformers.json; ValueError when it has none of that
        name), else its default_prompt_name's, else None."""
        if prompt is not None:
            return prompt
        prompts = self.info.get("prompts", {})
        if prompt_name is not None:
            if prompt_name not in prompts:
                raise ValueError(f"prompt_name {prompt_name!r}: the model's prompts are "
                                 f"{sorted(prompts)!r}")
            return prompts[prompt_name]
        default = self.info.get("default_prompt_name")
        return prompts.get(default) if default else None

    def encode(self, texts, batch_size=32, normalize=None, pooling=None, prompt_name=None,
               prompt=None):
        """Sentence embeddings: float32 [n, hidden] (a 1-D vector for one str).
        texts: str, a list of str, or token-id lists / numpy arrays. normalize:
        None (the folder's choice), True or False. pooling: None (the
        folder's), "cls", "mean", "max", "mean_sqrt_len", "lasttoken" or
        "weightedmean". prompt_name / prompt: the text put before each input
        (see prompt(); texts only)."""
        one = isinstance(texts, str)
        texts = [texts] if one else texts
        before = self.prompt(prompt_name, prompt)
        if before and all(isinstance(t, str) for t in texts):
            texts = [before + t for t in texts]
        out, _ = self._run(texts, batch_size=batch_size, normalize=normalize, pooling=pooling)
        return out[0] if one else out

    def encode_sparse(self, texts, batch_size=32, prompt_name=None, prompt=None, dense=False):
        """SPLADE sparse embeddings of a masked-LM (*ForMaskedLM) model, as
        sentence-transformers' SparseEncoder (MLMTransformer + SpladePooling)
        and TEI's /embed_sparse compute them: max over each input's tokens of
        log(1 + ReLU(MLM logits)). Per input a dict {"indices": int32 array,
        "values": float32 array} of its nonzero vocabulary entries in index
        order (Qdrant's and Pinecone's sparse vector fields); one dict for one
        str. dense=True: the float32 [n, vocab_size] array instead (a 1-D
        vector for one str), as SparseEncoder.encode(...).to_dense().
        texts, prompt_name, prompt: as encode. The first call on a Model not
        opened with sparse=True opens (compiles once, then caches) the
        program with the sparse output; sinter.Error when the checkpoint has
        no masked-LM head."""
        one = isinstance(texts, str)
        texts = [texts] if one else texts
        before = self.prompt(prompt_name, prompt)
        if before and all(isinstance(t, str) for t in texts):
            texts = [before + t for t in texts]
        if self._sparse_p is None:
            self._sparse_p = _sinter.Program(*self._open, True)
        out, _ = self._run(texts, want=3, batch_size=batch_size, program=self._sparse_p)
        if dense:
            return out[0] if one else out
        rows = []
        for row in out:
            idx = np.flatnonzero(row).astype(np.int32)
            rows.append({"indices": idx, "values": row[idx]})
        return rows[0] if one else rows

    def token_embeddings(self, texts, batch_size=32):
        """Every token's hidden state: a list of float32 [tokens, hidden] arrays."""
        one = isinstance(texts, str)
        rows, tokens = self._run([texts] if one else texts, want=2, batch_size=batch_size)
        out, at = [], 0
        for n in tokens:
            out.append(rows[at:at + n])
            at += n
        return out[0] if one else out

    def logits(self, texts, pairs=None, batch_size=32, instruction=None, template=None):
        """Classifier logits: float32 [n, num_labels]. texts may hold (a, b)
        tuples for text pairs. instruction / template: for a model with a
        reranker template (rerank_template.json), its {instruction} and its
        body (holding {query} and {document}) instead of the folder's."""
        texts, pairs = _split_pairs(texts, pairs)
        self._check_template(instruction, template)
        out, _ = self._run(texts, pairs, want=1, batch_size=batch_size,
                           rerank_template=template, rerank_instruction=instruction)
        return out

    @property
    def rerank_template(self):
        """The body of the folder's reranker template (rerank_template.json),
        or None: pairs are then put through it, the first text as {query}."""
        return self.info.get("rerank_template")

    def _check_template(self, instruction, template):
        if (instruction is not None or template is not None) and not self.rerank_template:
            raise ValueError(f"{self.path}: instruction and template need a reranker template "
                             "(rerank_template.json); the model has none")
        if template is not None and ("{query}" not in template or "{document}" not in template):
            raise ValueError("template must hold {query} and {document}")

    def classify(self, texts, pairs=None, batch_size=32):
        """(labels, scores): the best label of each input and the softmax (a
        sigmoid for one logit) over all labels, float32 [n, num_labels]."""
        one = isinstance(texts, str)
        logits = self.logits([texts] if one else texts, pairs, batch_size)
        scores = _probabilities(logits)
        labels = [self.info["labels"][k] for k in scores.argmax(axis=1)]
        return (labels[0], scores[0]) if one else (labels, scores)

    def rerank(self, query, documents, top_n=None, batch_size=32, return_documents=False,
               instruction=None, template=None):
        """Documents scored against the query by a one-logit cross-encoder,
        best first: [{"index", "score"(, "text")}], score = sigmoid(logit).
        A Qwen3-Reranker folder (rerank_template.json) puts each pair through
        its template; instruction / template override its {instruction} and
        body."""
        if self.info["num_labels"] != 1:
            raise Error(f"{self.path}: rerank needs a one-logit cross-encoder; this model has "
                        f"{self.info['num_labels']} labels", "unsupported")
        documents = list(documents)
        logits = self.logits([query] * len(documents), documents, batch_size, instruction,
                             template)[:, 0]
        scores = 1 / (1 + np.exp(-logits.astype(np.float64)))
        order = sorted(range(len(documents)), key=lambda i: -scores[i])[:top_n]
        return [dict(index=i, score=float(scores[i]), **({"text": documents[i]}
                                                        if return_documents else {}))
                for i in order]

    def tokenize(self, texts, pairs=None, max_length=None, truncation="right",
                 add_special_tokens=True):
        """Token ids, type ids, offsets (characters of the text), special flags."""
        one = isinstance(texts, str)
        texts, pairs = _split_pairs([texts] if one else texts, pairs)
        rows = self._p.tokenize(texts, pairs, max_length or 0, _TRUNCATION[truncation],
                                add_special_tokens)
        out = []
        for k, (ids, types, offs, sp, in_pair, cut) in enumerate(rows):
            a, b = texts[k], pairs[k] if pairs else None
            offs = [_char_span(b if second else a, o) for o, second in zip(offs, in_pair)]
            out.append(dict(input_ids=ids, token_type_ids=types, offsets=offs,
                            special_tokens_mask=sp, truncated=cut))
        return out[0] if one else out

    def decode(self, ids, skip_special_tokens=True):
        """Text of token ids, as Hugging Face's Tokenizer.decode gives it."""
        return self._p.decode(list(ids), skip_special_tokens)

    def save(self, path):
        """Writes the compiled program as a .sinter artifact."""
        self._p.save(os.fspath(path))


def _char_span(text, span):
    """A byte span of the UTF-8 text as a character span (what Python's
    tokenizers report)."""
    if text is None or text.isascii():
        return span
    raw = text.encode()
    return (len(raw[:span[0]].decode(errors="ignore")), len(raw[:span[1]].decode(errors="ignore")))


def _split_pairs(texts, pairs):
    texts = list(texts)
    if pairs is None and texts and isinstance(texts[0], (tuple, list)):
        pairs = [t[1] if len(t) > 1 else None for t in texts]
        texts = [t[0] for t in texts]
    return texts, None if pairs is None else list(pairs)


def _probabilities(logits):
    x = logits.astype(np.float64)
    if x.shape[1] == 1:
        return (1 / (1 + np.exp(-x))).astype(np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


from . import ray  # noqa: E402,F401 - sinter.ray.Embedder, sinter.ray:app (imports ray lazily)
