"""`torch.compile(model, backend="sinter")` and `sinter.compile(model)`.

For Hugging Face BertModel, DistilBertModel and their *ForSequenceClassification
(eval mode), and sentence-transformers models wrapping them (Transformer,
Pooling, Normalize: token_embeddings and sentence_embedding), the module's
config and weights are compiled into a sinter
program (saved as a model folder, then through the compile cache, so the next
process with the same weights loads the artifact), and the compiled module
returns what the original returns (last_hidden_state, pooler_output, logits)
for any batch size and sequence length. Inputs run padding-free: each row's
real tokens (attention_mask 1, right-padded) form one sequence; positions past
a row's length come back as zeros in last_hidden_state.

What cannot be lowered falls back to PyTorch with one logged line saying why:
a graph that is not a whole supported model, a module in training mode, or
(at run time) a mask that is not right padding.

Options (torch.compile(..., options={...}) or sinter.compile(model, ...)):
cache_dir (a folder or s3://bucket/prefix), dtype ("f32", "bf16", "int8"),
threads, fallback ("inductor", PyTorch's default, or "eager").
"""
import gc
import logging
import tempfile
import weakref

import numpy as np

log = logging.getLogger("sinter")

SUPPORTED = {"BertModel", "DistilBertModel", "BertForSequenceClassification",
             "DistilBertForSequenceClassification"}

# module -> sinter.Model, so recompiles (new shapes) do not lower again
_programs = weakref.WeakKeyDictionary()


class CannotLower(Exception):
    """Why a graph or module is left to PyTorch."""


def _owner(example_inputs):
    """The outermost Hugging Face model whose parameters are the graph's."""
    import torch
    params = {id(t) for t in example_inputs if isinstance(t, torch.nn.Parameter)}
    if not params:
        raise CannotLower("the graph has no parameters of a model")
    try:
        from transformers import PreTrainedModel
    except ImportError as e:
        raise CannotLower("transformers is not installed") from e
    best, best_count = None, -1
    for obj in gc.get_objects():
        if issubclass(type(obj), PreTrainedModel):  # type(): no lazy attributes touched
            mine = {id(p) for p in obj.parameters()}
            if params <= mine and len(mine) > best_count:
                best, best_count = obj, len(mine)
    if best is None:
        raise CannotLower("no transformers model owns all of the graph's parameters")
    return best


def _sentence_transformer(owner):
    """The sentence-transformers model whose Transformer module wraps `owner`, or None."""
    import sys
    st_module = sys.modules.get("sentence_transformers")  # never imported for this
    if st_module is None:
        return None
    for obj in gc.get_objects():
        if issubclass(type(obj), st_module.SentenceTransformer):
            first = obj[0] if len(obj) else None
            if getattr(first, "auto_model", None) is owner:
                return obj
    return None


class _QuietSaves:
    """Hugging Face's progress bars off while a model is saved for lowering."""

    def __enter__(self):
        from transformers.utils import logging as hf_logging
        self.hf, self.was = hf_logging, hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        if self.was:
            self.hf.enable_progress_bar()


def _lower_sentence_transformer(st, options):
    from . import Error, Model
    kinds = [type(m).__name__ for m in st]
    if kinds[0] != "Transformer" or not set(kinds[1:]) <= {"Pooling", "Normalize"}:
        raise CannotLower(f"sentence-transformers modules {kinds}: only Transformer, Pooling "
                          "and Normalize are lowered")
    if st[0].auto_model.training:  # the outer module's flag does not matter: it has no dropout
        raise CannotLower("the SentenceTransformer's model is in training mode (call .eval())")
    with tempfile.TemporaryDirectory(prefix="sinter-st-") as folder:
        with _QuietSaves():
            st.save(folder)
        try:
            return Model(folder, cache=options.get("cache_dir"), dtype=options.get("dtype", "f32"),
                         threads=options.get("threads"))
        except Error as e:
            raise CannotLower(f"sinter cannot compile this sentence-transformers folder: {e}")


def program_for(module, options=None):
    """The sinter.Model compiled from a supported Hugging Face module (or the
    sentence-transformers model wrapping it)."""
    from . import Model
    options = options or {}
    st = _sentence_transformer(module)
    if st is not None:
        if st not in _programs:
            program = _lower_sentence_transformer(st, options)
            program.sentence_transformer = True
            _programs[st] = program
        return _programs[st]
    name = type(module).__name__
    if name not in SUPPORTED:
        raise CannotLower(f"{name} is not one of {', '.join(sorted(SUPPORTED))}")
    if module.training:
        raise CannotLower(f"{name} is in training mode (call .eval(): sinter drops dropout)")
    if module in _programs:
        return _programs[module]
    with tempfile.TemporaryDirectory(prefix="sinter-torch-") as folder:
        with _QuietSaves():
            module.save_pretrained(folder, safe_serialization=True)
        program = Model(folder, cache=options.get("cache_dir"), dtype=options.get("dtype", "f32"),
                        threads=options.get("threads"))
    program.sentence_transformer = False
    _programs[module] = program
    return program


def _lengths(mask, shape):
    """Each row's length when `mask` is right padding (ones, then zeros), else None."""
    import torch
    if mask is None:
        return [shape[1]] * shape[0]
    m = mask.to(torch.bool)
    lengths = m.sum(dim=1)
    prefix = torch.arange(shape[1], device=m.device)[None, :] < lengths[:, None]
    if not torch.equal(prefix, m) or int(lengths.min()) < 1:
        return None
    return [int(x) for x in lengths]


def run_program(program, input_ids, attention_mask=None, token_type_ids=None):
    """(last_hidden_state [B, S, H], pooler_output [B, H] or None, logits
    [B, L] or None, sentence embeddings [B, H]) as torch tensors, or None when
    the mask is not right padding (the caller falls back)."""
    import torch
    lengths = _lengths(attention_mask, input_ids.shape)
    if lengths is None:
        return None
    ids_np = input_ids.detach().cpu().numpy().astype(np.int32, copy=False)
    ids = [np.ascontiguousarray(ids_np[b, :n]) for b, n in enumerate(lengths)]
    types = None
    if token_type_ids is not None and program.info["model_type"] == "bert":
        t_np = token_type_ids.detach().cpu().numpy().astype(np.int32, copy=False)
        types = [np.ascontiguousarray(t_np[b, :n]) for b, n in enumerate(lengths)]
    hidden_b, pooler_b, logits_b, emb_b = program._p.forward(ids, types)
    h = program.info["hidden_size"]
    rows = torch.from_numpy(np.frombuffer(hidden_b, dtype=np.float32).reshape(-1, h))
    batch, seq = input_ids.shape
    hidden = torch.zeros(batch, seq, h, dtype=torch.float32)
    at = 0
    for b, n in enumerate(lengths):
        hidden[b, :n] = rows[at:at + n]
        at += n
    pooler = None if pooler_b is None else torch.from_numpy(
        np.frombuffer(pooler_b, dtype=np.float32).reshape(batch, h))
    logits = None if logits_b is None else torch.from_numpy(
        np.frombuffer(logits_b, dtype=np.float32).reshape(batch, -1))
    embeddings = torch.from_numpy(np.frombuffer(emb_b, dtype=np.float32).reshape(batch, h))
    return hidden, pooler, logits, embeddings


def _input_index(placeholders, name):
    for k, node in enumerate(placeholders):
        n = node.name
        if n.endswith(f"_{name}_") and "_modules_" not in n and "_buffers_" not in n:
            return k
    return None


def _fallback(gm, example_inputs, options, why):
    kind = (options or {}).get("fallback", "inductor")
    log.warning("sinter: this graph runs on PyTorch (%s): %s", kind, why)
    if kind == "eager":
        return gm.forward
    from torch._dynamo.backends.registry import lookup_backend
    return lookup_backend("inductor")(gm, example_inputs)


def sinter_backend(gm, example_inputs, options=None):
    """The Dynamo backend (entry point `torch_dynamo_backends: sinter`)."""
    try:
        module = _owner(example_inputs)
        program = program_for(module, options)
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        ids_at = _input_index(placeholders, "input_ids")
        if ids_at is None:
            raise CannotLower("the graph takes no input_ids")
        mask_at = _input_index(placeholders, "attention_mask")
        types_at = _input_index(placeholders, "token_type_ids")
        output = next(n for n in gm.graph.nodes if n.op == "output")
        outs = output.args[0] if isinstance(output.args[0], (tuple, list)) else [output.args[0]]
        kinds = _output_kinds(outs, program)
    except CannotLower as e:
        return _fallback(gm, example_inputs, options, str(e))
    warned = []

    def compiled(*args):
        got = run_program(program, args[ids_at], None if mask_at is None else args[mask_at],
                          None if types_at is None else args[types_at])
        if got is None:  # not right padding: exactness first
            if not warned:
                warned.append(1)
                log.warning("sinter: an attention mask that is not right padding runs on "
                            "PyTorch (eager)")
            return gm.forward(*args)
        hidden, pooler, logits, embeddings = got
        by_kind = {"hidden": hidden, "pooler": pooler, "logits": logits, "embedding": embeddings}
        return tuple(by_kind[k] for k in kinds)

    return compiled


def _output_kinds(outs, program):
    """Which of sinter's outputs each graph output is, from its rank and
    width; anything else (hidden states of every layer, attentions) is not lowered."""
    h, labels = program.info["hidden_size"], program.info["num_labels"]
    kinds = []
    for node in outs:
        v = getattr(node, "meta", {}).get("example_value")
        if v is None:
            raise CannotLower("a graph output without a known shape")
        shape = list(v.shape)
        if len(shape) == 3 and shape[-1] == h:
            kinds.append("hidden")
        elif len(shape) == 2 and labels and shape[-1] == labels:
            kinds.append("logits")
        elif len(shape) == 2 and shape[-1] == h and program.info["has_pooler"] and _is_tanh(node):
            kinds.append("pooler")  # BERT's pooler ends in tanh; a pooled mean does not
        elif len(shape) == 2 and shape[-1] == h and program.sentence_transformer:
            kinds.append("embedding")  # sentence_embedding: the folder's pooling (+ Normalize)
        else:
            raise CannotLower(f"a graph output of shape {shape} is none of last_hidden_state, "
                              "pooler_output, logits")
    return kinds


def _is_tanh(node):
    import torch
    return node.op in ("call_function", "call_method") and (
        node.target in (torch.tanh, torch.nn.functional.tanh, "tanh"))


def compile(model, cache_dir=None, dtype="f32", threads=None):  # noqa: A001 - sinter.compile
    """The same as torch.compile(model, backend="sinter") without Dynamo: a
    module whose forward(input_ids, attention_mask=None, token_type_ids=None)
    returns the model's output class (last_hidden_state, pooler_output or
    logits)."""
    import torch

    program = program_for(model, {"cache_dir": cache_dir, "dtype": dtype, "threads": threads})

    class Compiled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.original = model
            self.program = program

        def forward(self, input_ids, attention_mask=None, token_type_ids=None, **kwargs):
            got = run_program(program, input_ids, attention_mask, token_type_ids)
            if got is None:
                log.warning("sinter: an attention mask that is not right padding runs on "
                            "PyTorch (eager)")
                return model(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids, **kwargs)
            hidden, pooler, logits, _ = got
            if logits is not None:
                from transformers.modeling_outputs import SequenceClassifierOutput
                return SequenceClassifierOutput(logits=logits)
            if pooler is None:
                from transformers.modeling_outputs import BaseModelOutput
                return BaseModelOutput(last_hidden_state=hidden)
            from transformers.modeling_outputs import BaseModelOutputWithPooling
            return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooler)

    return Compiled()

