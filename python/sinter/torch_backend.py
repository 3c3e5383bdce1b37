"""`torch.compile(model, backend="sinter")` and `sinter.compile(model)`.

For Hugging Face BertModel, DistilBertModel, RobertaModel, XLMRobertaModel,
CamembertModel, MPNetModel, ModernBertModel, DebertaV2Model (DeBERTa-v2 and v3)
and their *ForSequenceClassification,
Qwen3Model and Gemma3TextModel (with use_cache=False in their config: with the
cache on, the graph builds a key/value cache and runs on PyTorch)
(eval mode, float32 on the CPU), and sentence-transformers models wrapping them
(Transformer, Pooling, Normalize: token_embeddings and sentence_embedding), the
module's config and weights are compiled into a sinter program (saved as a
model folder, then through the compile cache, so the next process with the same
weights loads the artifact), and the compiled module returns what the original
returns (last_hidden_state, pooler_output, logits) for any batch size and
sequence length. Inputs run padding-free: each row's real tokens (attention_mask
1, right-padded) form one sequence; positions past a row's length come back as
zeros in last_hidden_state. Outputs carry no autograd history.

The backend takes over only a graph it can prove computes exactly that.

**The graph is the model's forward** (`_match`). Dynamo hands the backend an FX
graph of torch-level ops and its example inputs, the model's parameters among
them. The backend finds the supported models that own every parameter of the
graph (smallest first; a sentence-transformers model wrapping one is tried
before it), and for each asks the same Dynamo, with a backend that only records,
for a reference graph: a fresh function calling the model with nothing but
input_ids, attention_mask and token_type_ids (copies of the graph's inputs,
with the same dimensions dynamic) and returning the outputs sinter computes.
The two graphs are then compared by value numbering: parameters and buffers
match by identity, the graph's inputs by the role they were given, a symbolic
size by the (input, dimension) it is the size of; every other node of the graph
must have a reference node with the same op and the same arguments (equal
constants, matched nodes), and every output of the graph must be one of the
reference's outputs (or a graph input returned unchanged). A graph or reference
holding an in-place op, a random draw or an identity test is not taken, so
every node is a pure function of its arguments' values and equal op on equal
arguments is equal value: the graph computes exactly those outputs of the model
on those inputs. Compute before the model (`ids.flip(1)`),
after it (`h * 2`), an input sinter does not read (position_ids, inputs_embeds,
head_mask), an output it does not compute (hidden_states, attentions), two
models in one graph, a graph break inside the model: each leaves a node or an
output without a counterpart, and the graph runs on PyTorch. The roles are
guessed from the graph (the input looked up in the word embeddings is
input_ids, the one looked up in the token-type embeddings token_type_ids, one
other input the attention mask); a wrong guess can only fail the match.

**The model is the one sinter implements** (`_check_model`): the model's class
and every submodule's are transformers' or torch.nn's own (a subclass defined
elsewhere, or a `forward` set on an instance, is not: the reference would trace
it, sinter would not compute it), with no forward hook (per module or global),
nothing of the Hugging Face model in training mode, every parameter and buffer
float32 on the CPU, the position_ids / token_type_ids buffers holding what
sinter assumes, and autocast off.

**The weights are still the compiled ones** (`_Weights`): each call checks
that its weight inputs are the model's tensors (Dynamo lets one graph serve
every instance of a class: a call runs the program of the instance whose
weights it gets), and each tensor's storage pointer, version counter and a
sampled checksum (32 strided elements of each tensor, since `p.data.mul_()`
bypasses the version counter). A change compiles the weights again (one
logged line). The sample keeps the check cheap (about 0.15 ms a call for
BERT-base, where hashing every weight would cost as much as the model): a
change that touches none of the sampled elements and leaves the version
counter alone is not seen. `sinter.compile` also checks, at each call, that the
modules are the same objects, in the same modes, without hooks; a Dynamo graph
does not (a hook added after torch.compile is not seen by any backend: Dynamo
does not guard hooks, and it compiles again when a mode changes).

What cannot be lowered falls back to PyTorch with one logged line saying why:
a graph that is not a whole supported model, a model that is not the stock one,
a module in training mode, or (at run time) a mask that is not right padding.
`sinter.compile(model)` checks the same at each call and runs the model itself
for anything sinter does not compute (position_ids, output_hidden_states,
labels and every other argument that is not None or False).

Options (torch.compile(..., options={...}) or sinter.compile(model, ...)):
cache_dir (a folder or s3://bucket/prefix), dtype ("f32", "bf16", "int8"),
threads, fallback ("inductor", PyTorch's default, or "eager").
"""
import builtins
import gc
import inspect
import itertools
import logging
import operator
import tempfile
import weakref

import numpy as np

log = logging.getLogger("sinter")

SUPPORTED = {"BertModel", "DistilBertModel", "BertForSequenceClassification",
             "DistilBertForSequenceClassification", "RobertaModel",
             "RobertaForSequenceClassification", "XLMRobertaModel",
             "XLMRobertaForSequenceClassification", "CamembertModel",
             "CamembertForSequenceClassification", "MPNetModel",
             "MPNetForSequenceClassification", "ModernBertModel",
             "ModernBertForSequenceClassification", "Qwen3Model", "Gemma3TextModel"}
SUPPORTED |= {"DebertaV2Model", "DebertaV2ForSequenceClassification"}
# The bare encoders whose output has a pooler_output (when built with one).
POOLED = {"BertModel", "RobertaModel", "XLMRobertaModel", "CamembertModel", "MPNetModel"}

# module (or SentenceTransformer) -> sinter.Model, so recompiles (new shapes) do not lower
# again; a program whose weights changed is replaced
_programs = weakref.WeakKeyDictionary()

# Sampled elements per tensor in the weights check.
_SAMPLES = 32
# Reference graphs traced for one graph at most (each is a Dynamo trace of the model).
_MAX_REFERENCES = 3


class CannotLower(Exception):
    """Why a graph or module is left to PyTorch."""


# --------------------------------------------------------------------------- the model


def _supported_classes():
    import transformers
    return {getattr(transformers, name) for name in SUPPORTED}


def _owners(example_inputs):
    """The supported Hugging Face models that own every parameter of the graph,
    smallest first; CannotLower when there is none."""
    import torch
    params = {id(t) for t in example_inputs if isinstance(t, torch.nn.Parameter)}
    if not params:
        raise CannotLower("the graph has no parameters of a model")
    try:
        from transformers import PreTrainedModel
    except ImportError as e:
        raise CannotLower("transformers is not installed") from e
    owners = []
    for obj in gc.get_objects():
        if issubclass(type(obj), PreTrainedModel):  # type(): no lazy attributes touched
            mine = {id(p) for p in obj.parameters()}
            if params <= mine:
                owners.append((len(mine), obj))
    if not owners:
        raise CannotLower("no transformers model owns all of the graph's parameters")
    owners.sort(key=lambda x: x[0])
    supported = _supported_classes()
    found = [m for _, m in owners if type(m) in supported]
    if not found:
        cls = type(owners[0][1])
        raise CannotLower(f"{cls.__module__}.{cls.__qualname__} is not one of transformers' "
                          f"{', '.join(sorted(SUPPORTED))}")
    return found


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


def _is_sentence_transformer(obj):
    import sys
    st_module = sys.modules.get("sentence_transformers")
    return st_module is not None and isinstance(obj, st_module.SentenceTransformer)


def _hf_model(target):
    """The Hugging Face model of a target (itself, or a SentenceTransformer's)."""
    return target[0].auto_model if _is_sentence_transformer(target) else target


def _global_hooks():
    from torch.nn.modules import module as nn_module
    return any(getattr(nn_module, name, None) for name in
               ("_global_forward_hooks", "_global_forward_pre_hooks"))


def _capturing_hook(hook):
    """transformers' own output-capturing hook: installed on a model's layers by
    the first call with output_hidden_states or output_attentions, it records
    outputs into a collector while one is active and never changes a value."""
    return (getattr(hook, "__module__", None) == "transformers.utils.output_capturing" and
            getattr(hook, "__qualname__", "").endswith("output_capturing_hook"))


def _has_hooks(m):
    return any(not _capturing_hook(h) for hooks in (m._forward_hooks, m._forward_pre_hooks)
               for h in hooks.values())


def _module_problem(m, path, computes):
    """Why one module is not what sinter implements, or None. `computes`: the
    module is part of the Hugging Face model (where training mode means
    dropout), not a sentence-transformers wrapper around it."""
    cls = type(m)
    if computes and m.training:
        return f"{path} is in training mode (call .eval(): sinter drops dropout)"
    if _has_hooks(m):
        return f"{path} has a forward hook"
    if "forward" in m.__dict__:
        return f"{path} has its own forward (set on the instance)"
    if not cls.__module__.startswith(("transformers.", "torch.nn.", "sentence_transformers.")):
        return (f"{path} is a {cls.__module__}.{cls.__qualname__}, not transformers' own "
                "module (a subclass may compute something else)")
    return None


def _check_model(target):
    """CannotLower unless `target` (a supported model, or a SentenceTransformer
    wrapping one) is the stock model sinter implements, float32 on the CPU."""
    import torch
    hf = _hf_model(target)
    if type(hf) not in _supported_classes():
        raise CannotLower(f"{type(hf).__module__}.{type(hf).__qualname__} is not one of "
                          f"transformers' {', '.join(sorted(SUPPORTED))}")
    if _global_hooks():
        raise CannotLower("a global forward hook is registered")
    inside = {id(m) for m in hf.modules()}
    for path, m in target.named_modules():
        why = _module_problem(m, path or type(target).__name__, id(m) in inside)
        if why:
            raise CannotLower(why)
    for tname, t in itertools.chain(target.named_parameters(), target.named_buffers()):
        if t.device.type != "cpu":
            raise CannotLower(f"{tname} is on {t.device}: sinter runs on the CPU")
        if t.is_floating_point() and t.dtype != torch.float32:
            raise CannotLower(f"{tname} is {t.dtype}: sinter computes float32 models "
                              "(call .float())")
        if t.is_complex() or t.is_quantized or t.is_sparse:
            raise CannotLower(f"{tname} is not a dense real tensor")
    emb = getattr(hf, "embeddings", None) or getattr(getattr(hf, hf.base_model_prefix, None),
                                                     "embeddings", None)
    positions = getattr(emb, "position_ids", None)
    if positions is not None and not torch.equal(
            positions.reshape(-1), torch.arange(positions.numel(), device=positions.device)):
        raise CannotLower("the position_ids buffer is not 0, 1, 2, ... (sinter's positions)")
    types = getattr(emb, "token_type_ids", None)
    if isinstance(types, torch.Tensor) and bool(types.any()):
        raise CannotLower("the token_type_ids buffer is not all zeros (sinter's default)")
    if _is_sentence_transformer(target):
        kinds = [type(m).__name__ for m in target]
        if kinds[0] != "Transformer" or not set(kinds[1:]) <= {"Pooling", "Normalize"}:
            raise CannotLower(f"sentence-transformers modules {kinds}: only Transformer, "
                              "Pooling and Normalize are lowered")


def _float_bits(t):
    """`t` with float elements as integers of the same width (NaN compares equal)."""
    import torch
    bits = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16,
            torch.bfloat16: torch.int16}
    return t.view(bits[t.dtype]) if t.dtype in bits else t


def _sample_view(t):
    """A view of up to _SAMPLES elements spread over the storage span of `t`
    (so it sees later writes), or None for an empty tensor: a numpy view,
    since concatenating 200 of them costs a third of torch.cat's time, else
    (a dtype numpy lacks) a torch one."""
    import torch
    flat = t.detach()
    if flat.numel() == 0:
        return None
    span = 1 + sum((n - 1) * st for n, st in zip(flat.shape, flat.stride()))
    step = max(1, span // _SAMPLES)
    count = min(_SAMPLES, (span - 1) // step + 1)
    try:
        a = flat.numpy()
    except (TypeError, RuntimeError):
        return torch.as_strided(flat, (count,), (step,), flat.storage_offset())
    return np.lib.stride_tricks.as_strided(a, shape=(count,), strides=(step * a.itemsize,),
                                           writeable=False)


def _sample_bytes(views):
    import torch
    if isinstance(views[0], np.ndarray):
        return np.concatenate(views).tobytes()
    return _float_bits(torch.cat(views)).numpy().tobytes()


class _Weights:
    """What a program was compiled from: the target's modules (held weakly, so
    that a memoised program does not keep its model alive) and tensors, each
    tensor's storage pointer, version counter and a strided sample of its
    elements. `contents_unchanged()` is the per-call check of the tensors a
    call is known to get (a Dynamo graph's weight inputs); `unchanged()` adds
    the model's structure: the same modules and tensors, modes and hooks."""

    def __init__(self, target):
        self.target = weakref.ref(target)
        modules = list(target.modules())
        self.modules = [weakref.ref(m) for m in modules]
        self.training = [m.training for m in modules]
        self.tensors = self._tensors(modules)
        self.pointers = [t.data_ptr() for t in self.tensors]
        self.versions = [t._version for t in self.tensors]
        groups = {}
        for t in self.tensors:
            view = _sample_view(t)
            if view is not None:
                groups.setdefault((type(view), t.dtype), []).append(view)
        self.samples = [(views, _sample_bytes(views)) for views in groups.values()]

    @staticmethod
    def _tensors(modules):
        return [t for m in modules for d in (m._parameters, m._buffers) for t in d.values()
                if t is not None]

    def contents_unchanged(self):
        for t, ptr, version in zip(self.tensors, self.pointers, self.versions):
            if t._version != version or t.data_ptr() != ptr:
                return False
        return all(_sample_bytes(views) == sample for views, sample in self.samples)

    def unchanged(self):
        target = self.target()
        if target is None or _global_hooks():
            return False
        modules = list(target.modules())
        if len(modules) != len(self.modules):
            return False
        for m, ref, training in zip(modules, self.modules, self.training):
            if m is not ref() or m.training != training or (
                    (m._forward_hooks or m._forward_pre_hooks) and _has_hooks(m)):
                return False
        tensors = self._tensors(modules)
        if len(tensors) != len(self.tensors) or any(a is not b for a, b in
                                                    zip(tensors, self.tensors)):
            return False
        return self.contents_unchanged()


class _QuietSaves:
    """Hugging Face's progress bars off while a model is saved for lowering."""

    def __enter__(self):
        from transformers.utils import logging as hf_logging
        self.hf, self.was = hf_logging, hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        if self.was:
            self.hf.enable_progress_bar()


def _lower(target, options):
    from . import Error, Model
    st = _is_sentence_transformer(target)
    with tempfile.TemporaryDirectory(prefix="sinter-st-" if st else "sinter-torch-") as folder:
        with _QuietSaves():
            if st:
                target.save(folder)
            else:
                target.save_pretrained(folder, safe_serialization=True)
        try:
            program = Model(folder, cache=options.get("cache_dir"),
                            dtype=options.get("dtype", "f32"), threads=options.get("threads"))
        except Error as e:
            raise CannotLower(f"sinter cannot compile this model: {e}")
    program.sentence_transformer = st
    config = _hf_model(target).config
    program.vocab_size = config.vocab_size
    program.type_vocab_size = getattr(config, "type_vocab_size", 0) or 0
    # RoBERTa numbers positions by the ids that are not the padding id (MPNet
    # by id 1, its modeling code's fixed padding_idx); sinter numbers every
    # token, so a text holding that id goes to PyTorch.
    program.positions_skip_id = {"roberta": config.pad_token_id,
                                 "mpnet": 1}.get(program.info["model_type"])
    return program


def program_for(module, options=None):
    """The sinter.Model compiled from a supported Hugging Face module, or from a
    sentence-transformers model wrapping one (Transformer, Pooling, Normalize).
    The same program while the weights are the ones it was compiled from;
    compiled again when they changed. CannotLower when the module is not the
    stock model sinter implements (see the module docstring)."""
    options = options or {}
    program = _programs.get(module)
    if program is not None and program.weights.unchanged():
        return program
    _check_model(module)
    if program is not None:
        log.warning("sinter: the weights of %s changed since they were compiled: compiling "
                    "them again", type(module).__name__)
    weights = _Weights(module)
    program = _lower(module, options)
    program.weights = weights
    _programs[module] = program
    return program


# --------------------------------------------------------------------------- running


def _lengths(mask, shape):
    """Each row's length when `mask` is right padding (ones, then zeros), else None."""
    import torch
    if mask is None:
        return [shape[1]] * shape[0]
    if tuple(mask.shape) != tuple(shape):
        return None
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        return None  # a soft mask: PyTorch weighs it, sinter would not
    m = mask.to(torch.bool)
    lengths = m.sum(dim=1)
    prefix = torch.arange(shape[1], device=m.device)[None, :] < lengths[:, None]
    if not torch.equal(prefix, m) or int(lengths.min()) < 1:
        return None
    return [int(x) for x in lengths]


def _in_range(t, limit):
    return limit <= 0 or (int(t.min()) >= 0 and int(t.max()) < limit)


def run_program(program, input_ids, attention_mask=None, token_type_ids=None):
    """(last_hidden_state [B, S, H], pooler_output [B, H] or None, logits
    [B, L] or None, sentence embeddings [B, H]) as torch tensors, or None when
    sinter would not compute what PyTorch does (a mask that is not right
    padding, ids outside the vocabulary, an empty batch): the caller falls back."""
    import torch
    if (input_ids.dim() != 2 or input_ids.is_floating_point() or input_ids.shape[0] < 1
            or input_ids.shape[1] < 1 or input_ids.device.type != "cpu"):
        return None
    lengths = _lengths(attention_mask, input_ids.shape)
    if lengths is None:
        return None
    if not _in_range(input_ids, getattr(program, "vocab_size", 0)):
        return None  # PyTorch raises its own error
    skip = getattr(program, "positions_skip_id", None)
    if skip is not None and any(bool((input_ids[b, :n] == skip).any())
                                for b, n in enumerate(lengths)):
        return None
    if token_type_ids is not None and (tuple(token_type_ids.shape) != tuple(input_ids.shape) or
                                       not _in_range(token_type_ids,
                                                     getattr(program, "type_vocab_size", 0))):
        return None
    ids_np = input_ids.detach().cpu().numpy().astype(np.int32, copy=False)
    ids = [np.ascontiguousarray(ids_np[b, :n]) for b, n in enumerate(lengths)]
    types = None
    if token_type_ids is not None and program.info["model_type"] in ("bert", "roberta",
                                                                     "deberta-v2"):
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
    embeddings = torch.from_numpy(np.frombuffer(emb_b, dtype=np.float32).reshape(
        batch, program.info["embedding_dim"]))
    return hidden, pooler, logits, embeddings


class _Served:
    """The program serving one target, checked at each call: None (and one
    logged line) once the target can no longer be lowered."""

    def __init__(self, target, options, program):
        self.target, self.options, self.program = weakref.ref(target), options, program
        self.warned = set()
        self.expected, self.expected_for = [], None  # _CompiledGraph's weight inputs

    def warn_once(self, why):
        if why not in self.warned:
            self.warned.add(why)
            log.warning("sinter: this call runs on PyTorch (eager): %s", why)

    def current(self):
        if self.program is not None and self.program.weights.unchanged():
            return self.program
        target = self.target()
        if target is None:
            return None
        try:
            self.program = program_for(target, self.options)
        except CannotLower as e:
            self.program = None
            self.warn_once(str(e))
        return self.program


# --------------------------------------------------------------------------- the graph match

_ROLES = ("input_ids", "attention_mask", "token_type_ids")


def _fields(target):
    """The outputs of `target` that sinter computes, in the reference's order."""
    if _is_sentence_transformer(target):
        return ("token_embeddings", "sentence_embedding")
    name = type(target).__name__
    if name.endswith("ForSequenceClassification"):
        return ("logits",)
    if name in POOLED and getattr(target, "pooler", None) is not None:
        return ("last_hidden_state", "pooler_output")
    return ("last_hidden_state",)


class _Graph:
    """What the match reads of an FX graph, taken at once: Dynamo empties a
    graph whose backend raised (the reference's recorder does), and a
    Node's arguments go with it. Nodes stay the keys."""

    def __init__(self, gm, example_inputs):
        import torch
        self.nodes = []  # (node, op, target, args, kwargs); target resolved for modules, attrs
        self.placeholders, self.outputs = [], []
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                self.placeholders.append(node)
            elif node.op == "output":
                outs = node.args[0]
                self.outputs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
                continue
            target = node.target
            if node.op == "call_module":
                target = gm.get_submodule(node.target)
            elif node.op == "get_attr":
                target = operator.attrgetter(node.target)(gm)
            self.nodes.append((node, node.op, target, node.args, dict(node.kwargs)))
        self.values = {n: n.meta.get("example_value") for n in self.placeholders}
        self.inputs = list(example_inputs)
        if len(self.placeholders) != len(self.inputs):
            raise CannotLower("the graph's inputs and example inputs differ in number")
        self.record = {record[0]: record for record in self.nodes}
        self.users = {}
        for record in self.nodes:
            found = []
            torch.fx.node.map_arg((record[3], record[4]), found.append)
            for a in found:
                self.users.setdefault(a, []).append(record)

    def input_of(self, node):
        return self.inputs[self.placeholders.index(node)]


_OPERATOR_WRITES = {"setitem", "delitem", "iadd", "iand", "iconcat", "ifloordiv", "ilshift",
                    "imod", "imul", "imatmul", "ior", "ipow", "irshift", "isub", "itruediv",
                    "ixor"}


# Ops whose value is not a function of their arguments' values: random draws,
# and object identity (two equal values numbered alike may be distinct objects).
_NOT_A_FUNCTION = {"rand", "randn", "randint", "rand_like", "randn_like", "randint_like",
                   "randperm", "bernoulli", "multinomial", "normal", "poisson", "rrelu",
                   "is_", "is_not", "id"}
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
             "feature_alpha_dropout"}
_signatures = {}


def _bound(target, args, kwargs):
    """A torch.nn.functional call's arguments by name ({} when unknown)."""
    if target not in _signatures:
        try:
            _signatures[target] = inspect.signature(target)
        except (TypeError, ValueError):
            _signatures[target] = None
    sig = _signatures[target]
    try:
        return sig.bind(*args, **kwargs).arguments if sig is not None else {}
    except TypeError:
        return {}


def _impure(op, target, args, kwargs):
    """Why an FX node is not a pure function of its arguments (it may write to
    a tensor, or draw random numbers), or None. Conservative: a node flagged
    here makes its graph run on PyTorch."""
    import torch
    if op not in ("call_function", "call_method"):
        return None
    if isinstance(target, torch._ops.OpOverload) and (
            target._schema.is_mutable or torch.Tag.nondeterministic_seeded in target.tags):
        return "writes a tensor in place or draws random numbers"
    name = target if isinstance(target, str) else getattr(target, "__name__", "") or ""
    if getattr(target, "__module__", None) in ("operator", "_operator"):
        return "writes in place" if name in _OPERATOR_WRITES else (
            "compares objects" if name in _NOT_A_FUNCTION else None)
    if name in _NOT_A_FUNCTION:
        return "draws random numbers or compares objects"
    if name.endswith("_") and not name.endswith("__") and not name.startswith("_"):
        return "writes a tensor in place"  # add_, masked_fill_, copy_ (methods and torch.relu_)
    if name.startswith("__i") or name in ("__setitem__", "__delitem__"):
        return "writes in place"
    if "out" in kwargs:
        return "writes to out="
    if op == "call_function" and getattr(target, "__module__", "") == "torch.nn.functional":
        named = _bound(target, args, kwargs)
        if named.get("inplace") is True or kwargs.get("inplace") is True:
            return "writes a tensor in place"
        if name in _DROPOUTS and named.get("training", True) is not False:
            return "draws random numbers (dropout in training)"
        if name == "embedding" and named.get("max_norm") is not None:
            return "renormalises embedding rows in place (max_norm)"
    return None


# Ops whose result is always a new tensor (never a view of an argument).
_FRESH = {"add", "sub", "mul", "truediv", "floordiv", "neg", "matmul", "where", "abs", "log",
          "exp", "lt", "le", "gt", "ge", "eq", "ne", "minimum", "maximum", "full_like",
          "zeros_like", "ones_like", "softmax"}
_AUGMENTED = _OPERATOR_WRITES - {"setitem", "delitem"}


def _private_write(graph, op, target, args):
    """Whether an augmented assignment (`x += y`) writes only a tensor that
    this graph made (no input, weight or view of one) and that nothing else
    reads, so the graph stays a function of its inputs: MPNet's `scores +=
    bias` and `ret += ...` in its position buckets."""
    import torch
    if op != "call_function" or getattr(target, "__module__", None) not in ("operator",
                                                                            "_operator"):
        return False
    if getattr(target, "__name__", "") not in _AUGMENTED or not args:
        return False
    written = args[0]
    for _ in range(64):
        if not isinstance(written, torch.fx.Node):
            return True  # a Python number: `+=` makes a new object
        if len(graph.users.get(written, ())) != 1 or written not in graph.record:
            return False
        _, wop, wtarget, wargs, _ = graph.record[written]
        name = wtarget if isinstance(wtarget, str) else getattr(wtarget, "__name__", "")
        if wop == "call_function" and name in _FRESH:
            return True
        if not (wop == "call_function" and name in _AUGMENTED and wargs):
            return False
        written = wargs[0]  # `x += y` returns x: follow it to where x was made
    return False


def _skip(op, target):
    """Nodes without a value that changes no value (grad-mode switches)."""
    import torch
    return op == "call_function" and target is torch._C._set_grad_enabled


def _constant(value):
    """A hashable form of a constant the graph holds, or CannotLower."""
    import torch
    if isinstance(value, torch.Tensor) and value.numel() <= 4096:
        flat = _float_bits(value.detach().cpu().contiguous()).reshape(-1)
        return ("tensor", value.dtype, tuple(value.shape), tuple(flat.tolist()))
    raise CannotLower(f"the graph holds a constant {type(value).__name__}")


class _Numbering:
    """Value numbers of one graph's nodes: equal numbers, equal values."""

    def __init__(self, table):
        self.table, self.number = table, {}

    def arg(self, a):
        import torch
        if isinstance(a, torch.fx.Node):
            if a not in self.number:
                raise CannotLower(f"node {a.name} has no counterpart in the model's forward")
            return ("node", self.number[a])
        if isinstance(a, (tuple, list)):
            return (type(a).__name__,) + tuple(self.arg(x) for x in a)
        if isinstance(a, dict):
            return ("dict",) + tuple(sorted((str(k), self.arg(v)) for k, v in a.items()))
        if isinstance(a, slice):
            return ("slice", self.arg(a.start), self.arg(a.stop), self.arg(a.step))
        if isinstance(a, float):
            return (float, a.hex())
        if a is None or a is Ellipsis or isinstance(a, (bool, int, str, complex, torch.dtype,
                                                        torch.device, torch.layout,
                                                        torch.memory_format)):
            return (type(a), a)
        raise CannotLower(f"an argument of type {type(a).__name__} in the graph")

    def signature(self, op, target, args, kwargs):
        if op == "call_module":
            target = ("module", id(target))
        elif op == "get_attr":
            target = _constant(target)
        else:
            try:
                hash(target)
            except TypeError:
                raise CannotLower(f"an op the backend cannot compare ({target!r})")
        return (op, target, self.arg(args), self.arg(kwargs))


def _placeholder_keys(graph, state_ids, role_of):
    """Each placeholder's identity across graphs: ("state", id) for a parameter
    or buffer, ("input", role) for a model input, ("size", role, dim) for a
    symbolic size. CannotLower for anything else."""
    import torch
    keys, sizes = {}, {}
    for node, value in zip(graph.placeholders, graph.inputs):
        if isinstance(value, torch.Tensor) and id(value) in state_ids:
            keys[node] = ("state", id(value))
        elif isinstance(value, torch.Tensor) and id(value) in role_of:
            role = role_of[id(value)]
            keys[node] = ("input", role)
            for dim, size in enumerate(getattr(graph.values[node], "shape", ())):
                if isinstance(size, torch.SymInt):
                    sizes.setdefault(str(size.node.expr), ("size", role, dim))
    for node in graph.placeholders:
        if node in keys:
            continue
        value = graph.values[node]
        if isinstance(value, torch.SymInt) and str(value.node.expr) in sizes:
            keys[node] = sizes[str(value.node.expr)]
        else:
            raise CannotLower(f"graph input {node.target} is none of input_ids, attention_mask, "
                              "token_type_ids (or the model's weights)")
    return keys


def _number_graph(graph, keys, table):
    """Numbers every node of `graph`. With `table` None this is the reference:
    new signatures get new numbers; else a node whose signature is not in
    `table` raises CannotLower."""
    reference = table is None
    table = {} if reference else table
    numbering = _Numbering(table)
    for node, op, target, args, kwargs in graph.nodes:
        if _skip(op, target):
            continue
        if op == "placeholder":
            sig = keys[node]
        else:
            why = _impure(op, target, args, kwargs)
            if why and _private_write(graph, op, target, args):
                why = None
            if why:
                raise CannotLower(f"the {'model' if reference else 'graph'} {why} "
                                  f"({node.name})")
            sig = numbering.signature(op, target, args, kwargs)
        if sig not in table:
            if not reference:
                what = target if isinstance(target, str) else getattr(target, "__name__",
                                                                      type(target).__name__)
                raise CannotLower(f"the graph computes {what} ({node.name}), which is not part "
                                  "of the model's forward on input_ids, attention_mask and "
                                  "token_type_ids")
            table[sig] = len(table)
        numbering.number[node] = table[sig]
    return numbering


def _roles(graph, state_names):
    """A guess at which graph input is which model input (see the docstring):
    id(tensor) -> role."""
    import torch
    roles, others = {}, []
    for node, value in zip(graph.placeholders, graph.inputs):
        if not isinstance(value, torch.Tensor) or id(value) in state_names:
            continue
        role = None
        for _, op, target, args, _ in graph.users.get(node, ()):
            if op != "call_function" or target is not torch.nn.functional.embedding or \
                    len(args) < 2 or args[0] is not node or args[1] not in graph.values:
                continue
            weight = state_names.get(id(graph.input_of(args[1])), "")
            if weight.endswith(("word_embeddings.weight", "tok_embeddings.weight",
                                "embed_tokens.weight")):
                role = "input_ids"
            elif weight.endswith("token_type_embeddings.weight"):
                role = "token_type_ids"
            elif weight.endswith("position_embeddings.weight"):
                raise CannotLower("the graph passes position_ids: sinter computes positions "
                                  "0, 1, 2, ... itself")
        if role is None:
            others.append((node, value))
        elif role in roles.values():
            raise CannotLower(f"two graph inputs are the model's {role}")
        else:
            roles[id(value)] = role
    if "input_ids" not in roles.values():
        raise CannotLower("no graph input goes straight into the word embeddings (compute "
                          "before the model, or inputs_embeds)")
    if len(others) > 1:
        raise CannotLower(f"graph inputs {', '.join(n.target for n, _ in others)}: the model "
                          "reads only input_ids, attention_mask and token_type_ids")
    for _, value in others:
        roles[id(value)] = "attention_mask"
    return roles


_reference_count = itertools.count()


class _Recorded(Exception):
    """Raised by the reference's recorder: the graph is all that was wanted."""


def _reference(target, fields, inputs, dynamic_dims):
    """The reference: Dynamo's graph of `target` called with `inputs` (role ->
    tensor) returning `fields`, traced through a fresh function (so no code
    cached by an earlier trace is reused) by a backend that only records it.
    (_Graph, {id(input copy): role})."""
    import torch
    if _is_sentence_transformer(target):
        body = "    out = model(dict(inputs))\n"
        ret = ", ".join(f"out[{f!r}]" for f in fields)
    else:
        body = "    out = model(**inputs)\n"
        ret = ", ".join(f"out.{f}" for f in fields)
    source = f"def reference(model, inputs):\n{body}    return ({ret},)\n"
    namespace = {}
    exec(builtins.compile(source, f"<sinter reference {next(_reference_count)}>", "exec"),
         namespace)

    captured = []

    def record(gm, example_inputs):
        captured.append(_Graph(gm, example_inputs))
        raise _Recorded()

    copies = {}
    for role, t in inputs.items():
        c = t.detach().clone()
        for dim in dynamic_dims.get(role, ()):
            torch._dynamo.maybe_mark_dynamic(c, dim)
        copies[role] = c
    fn = torch.compile(namespace["reference"], backend=record, fullgraph=True)
    try:
        fn(target, copies)
    except Exception as e:  # _Recorded, wrapped by Dynamo; or the trace failed
        if not captured:
            raise CannotLower(f"Dynamo cannot trace {type(target).__name__} as a reference "
                              f"({type(e).__name__}: {e})") from e
    if len(captured) != 1:
        raise CannotLower("the reference trace is not one graph")
    return captured[0], {id(c): role for role, c in copies.items()}


def _state_names(target):
    """id(tensor) -> name for every parameter and buffer of `target`."""
    names = {}
    for tname, t in itertools.chain(target.named_parameters(remove_duplicate=False),
                                    target.named_buffers(remove_duplicate=False)):
        names.setdefault(id(t), tname)
    return names


def _match(gm, example_inputs, target):
    """How the graph's outputs are the target's: per graph output, a field of
    `_fields(target)` or ("input", index); and the graph inputs {role: index}.
    CannotLower when the graph is not provably the model's forward (see the
    module docstring)."""
    import torch
    state_names = _state_names(target)
    graph = _Graph(gm, example_inputs)
    role_of = _roles(graph, state_names)
    inputs, dynamic, index = {}, {}, {}
    for k, (node, value) in enumerate(zip(graph.placeholders, graph.inputs)):
        if isinstance(value, torch.Tensor) and id(value) in role_of:
            role = role_of[id(value)]
            inputs[role], index[role] = value, k
            dynamic[role] = [d for d, s in enumerate(getattr(graph.values[node], "shape", ()))
                             if isinstance(s, torch.SymInt)]
    fields = _fields(target)
    ref_graph, ref_roles = _reference(target, fields, inputs, dynamic)
    ref = _number_graph(ref_graph, _placeholder_keys(ref_graph, state_names, ref_roles), None)
    if len(ref_graph.outputs) != len(fields) or not all(
            isinstance(n, torch.fx.Node) and n in ref.number for n in ref_graph.outputs):
        raise CannotLower(f"the reference graph of {type(target).__name__} does not return "
                          f"{', '.join(fields)}")
    field_of = {ref.number[n]: f for n, f in zip(ref_graph.outputs, fields)}
    mine = _number_graph(graph, _placeholder_keys(graph, state_names, role_of), ref.table)
    kinds = []
    for node in graph.outputs:
        if not isinstance(node, torch.fx.Node):
            raise CannotLower(f"a graph output that is not a tensor ({node!r})")
        if node in graph.values and id(graph.input_of(node)) in role_of:
            kinds.append(("input", graph.placeholders.index(node)))
            continue
        field = field_of.get(mine.number.get(node))
        if field is None:
            raise CannotLower(f"graph output {node.name} is computed by the model but is none of "
                              f"its {', '.join(fields)} (hidden_states or attentions?)")
        kinds.append(field)
    return kinds, index


def _targets(owner):
    """What a graph over `owner`'s parameters may be: the sentence-transformers
    model wrapping it (when there is one), then the model itself."""
    st = _sentence_transformer(owner)
    return ([st] if st is not None else []) + [owner]


# --------------------------------------------------------------------------- the backend


def _autocast_on():
    import torch
    for device in ("cpu", "cuda"):
        try:
            if torch.is_autocast_enabled(device):
                return True
        except (RuntimeError, TypeError):
            pass
    return False


def _fallback(gm, example_inputs, options, why):
    kind = (options or {}).get("fallback", "inductor")
    log.warning("sinter: this graph runs on PyTorch (%s): %s", kind, why)
    if kind == "eager":
        return gm.forward
    from torch._dynamo.backends.registry import lookup_backend
    return lookup_backend("inductor")(gm, example_inputs)


def _take_over(gm, example_inputs, options):
    """(target, program, output kinds, input indices), or CannotLower with the
    first reason found."""
    if _autocast_on():  # Dynamo guards on it: a call without autocast compiles again
        raise CannotLower("autocast is on: PyTorch computes in lower precision, sinter in "
                          "float32")
    reasons = []
    tried = 0
    for owner in _owners(example_inputs):
        for target in _targets(owner):
            try:
                _check_model(target)
                if tried >= _MAX_REFERENCES:
                    raise CannotLower("too many candidate models")
                tried += 1
                kinds, index = _match(gm, example_inputs, target)
                program = program_for(target, options)
                info = program.info
                for k in kinds:
                    if (k == "pooler_output" and not info["has_pooler"]) or (
                            k == "logits" and not info["num_labels"]):
                        raise CannotLower(f"sinter's program of {type(target).__name__} has no "
                                          f"{k}")
                return target, program, kinds, index
            except CannotLower as e:
                reasons.append(str(e))
    raise CannotLower(reasons[0] if reasons else "no model to match")


class _CompiledGraph:
    """What the backend returns for a graph it takes over. Dynamo may call it
    with the weights of another instance of the model's class (its guards let
    a graph serve every instance): each call finds the instance whose tensors
    the weight inputs are (by name), checks that instance as program_for does
    and runs its program; no model is held strongly."""

    def __init__(self, gm, example_inputs, target, kinds, index, options):
        import torch
        self.gm, self.kinds, self.options = gm, kinds, options
        self.ids_at, self.mask_at, self.types_at = (index.get(r) for r in _ROLES)
        names = _state_names(target)
        self.weight_at = [(k, names[id(v)]) for k, v in enumerate(example_inputs)
                          if isinstance(v, torch.Tensor) and id(v) in names]
        self.target_type = type(target)
        self.owners = {}  # id(a weight tensor) -> weakrefs to it and to its target
        self.served = weakref.WeakKeyDictionary()  # target -> _Served
        self.warned = set()
        if self.weight_at:
            first = example_inputs[self.weight_at[0][0]]
            self.owners[id(first)] = (weakref.ref(first), weakref.ref(target))

    def warn_once(self, why):
        if why not in self.warned:
            self.warned.add(why)
            log.warning("sinter: this call runs on PyTorch (eager): %s", why)

    def _target(self, args):
        """The model whose weights the call's weight inputs are, or None."""
        if not self.weight_at:
            return None
        first = args[self.weight_at[0][0]]
        refs = self.owners.get(id(first))
        target = refs[1]() if refs is not None and refs[0]() is first else None
        if target is None:
            target = next((obj for obj in gc.get_objects()
                           if type(obj) is self.target_type and
                           any(t is first for t in itertools.chain(obj.parameters(),
                                                                   obj.buffers()))), None)
            if target is None:
                return None
            self.owners = {k: v for k, v in self.owners.items() if v[0]() is not None}
            self.owners[id(first)] = (weakref.ref(first), weakref.ref(target))
        return target

    def _program(self, args):
        target = self._target(args)
        if target is None:
            self.warn_once("the graph's weights belong to no model the backend knows")
            return None
        served = self.served.get(target)
        if served is None:
            served = self.served[target] = _Served(target, self.options, None)
            served.warn_once = self.warn_once
        program = served.program
        if (program is not None and served.expected_for is program and
                all(args[k] is t for k, t in served.expected) and
                program.weights.contents_unchanged()):
            return program  # the common call: the same tensors, the same contents
        program = served.current()
        if program is None:
            return None
        if served.expected_for is not program:  # the weight inputs, by name, of this program
            current = dict(itertools.chain(target.named_parameters(remove_duplicate=False),
                                           target.named_buffers(remove_duplicate=False)))
            served.expected = [(k, current.get(name)) for k, name in self.weight_at]
            served.expected_for = program
        if not all(args[k] is t for k, t in served.expected):
            self.warn_once("the graph's weight inputs are not its model's")
            return None
        return program

    def __call__(self, *args):
        program = self._program(args)
        got = None if program is None else run_program(
            program, args[self.ids_at], None if self.mask_at is None else args[self.mask_at],
            None if self.types_at is None else args[self.types_at])
        if got is None:  # exactness first
            if program is not None:
                self.warn_once("an input sinter does not compute as PyTorch does (a mask that "
                               "is not right padding, ids outside the vocabulary)")
            return self.gm.forward(*args)
        hidden, pooler, logits, embeddings = got
        by_kind = {"last_hidden_state": hidden, "pooler_output": pooler, "logits": logits,
                   "token_embeddings": hidden, "sentence_embedding": embeddings}
        return tuple(args[k[1]] if isinstance(k, tuple) else by_kind[k] for k in self.kinds)


def sinter_backend(gm, example_inputs, options=None):
    """The Dynamo backend (entry point `torch_dynamo_backends: sinter`)."""
    try:
        target, program, kinds, index = _take_over(gm, example_inputs, options or {})
    except CannotLower as e:
        return _fallback(gm, example_inputs, options, str(e))
    return _CompiledGraph(gm, example_inputs, target, kinds, index, options or {})


# --------------------------------------------------------------------------- sinter.compile


def compile(model, cache_dir=None, dtype="f32", threads=None):  # noqa: A001 - sinter.compile
    """The same as torch.compile(model, backend="sinter") without Dynamo: a
    module called as `model` is (its own forward's arguments) that returns the
    model's output class (last_hidden_state, pooler_output or logits), or its
    tuple with return_dict=False. Arguments sinter does not compute
    (position_ids, output_hidden_states=True, labels, ... anything but
    input_ids, attention_mask, token_type_ids and return_dict that is not None
    or False) run the model itself, with one logged line; so does a call after
    the model changed so that it can no longer be lowered. CannotLower when the
    model is not one sinter compiles."""
    import torch

    if _is_sentence_transformer(model):
        raise CannotLower("sinter.compile takes a transformers model; for a "
                          "SentenceTransformer use torch.compile(model, backend=\"sinter\")")
    options = {"cache_dir": cache_dir, "dtype": dtype, "threads": threads}
    program = program_for(model, options)
    signature = inspect.signature(model.forward)
    served = _Served(model, options, program)
    name = type(model).__name__

    def result(hidden, pooler, logits, return_dict):
        from transformers import modeling_outputs as mo
        if name.endswith("ForSequenceClassification"):
            out = mo.SequenceClassifierOutput(logits=logits)
        elif name in POOLED:
            out = mo.BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=hidden,
                                                                  pooler_output=pooler)
        else:
            out = mo.BaseModelOutput(last_hidden_state=hidden)
        return out if return_dict else out.to_tuple()

    class Compiled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.original = model
            self.program = program

        def forward(self, *args, **kwargs):
            bound = signature.bind(*args, **kwargs)  # a TypeError as the model's own
            given = {}
            for pname, value in bound.arguments.items():
                if signature.parameters[pname].kind is inspect.Parameter.VAR_KEYWORD:
                    given.update(value)
                elif signature.parameters[pname].kind is inspect.Parameter.VAR_POSITIONAL:
                    if value:
                        given[pname] = value
                else:
                    given[pname] = value
            ids, mask, types = (given.pop(r, None) for r in _ROLES)
            config = model.config
            return_dict = given.pop("return_dict", None)
            if return_dict is None:
                return_dict = getattr(config, "return_dict", True)
            why = None
            extra = [k for k, v in given.items() if v is not None and v is not False]
            if extra:
                why = f"{', '.join(extra)} (sinter computes none of it)"
            elif getattr(config, "output_hidden_states", False) or getattr(
                    config, "output_attentions", False):
                why = "output_hidden_states or output_attentions in the model's config"
            elif not isinstance(ids, torch.Tensor):
                why = "a call without input_ids"
            elif _autocast_on():
                why = "autocast is on: PyTorch computes in lower precision, sinter in float32"
            got = None
            if why is None:
                program = served.current()
                if program is not None:
                    got = run_program(program, ids, mask, types)
                    if got is None:
                        why = ("an input sinter does not compute as PyTorch does (a mask that "
                               "is not right padding, ids outside the vocabulary)")
            if got is None:
                if why is not None:
                    served.warn_once(why)
                return model(*args, **kwargs)
            hidden, pooler, logits, _ = got
            return result(hidden, pooler, logits, return_dict)

    return Compiled()
