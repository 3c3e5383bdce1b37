"""torch.compile(backend="sinter") and sinter.compile() never answer a number
eager PyTorch would not (issue 18): on the bert_cls fixture's BertModel, each
case is either computed by sinter and equal to eager PyTorch (1e-4, same dtype
and shape), or runs on PyTorch with one logged line saying why. Skipped
without torch and transformers."""
import logging
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import sinter  # noqa: E402
from sinter import torch_backend  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/models/bert_cls"
B, S = 2, 7
EAGER = {"fallback": "eager"}  # the fallback without Inductor's compile time


def bert_model():
    """The fixture classifier's BertModel (the classifier itself is let go)."""
    return transformers.BertForSequenceClassification.from_pretrained(FIXTURE).bert.eval()


def inputs(batch=B, seq=S, seed=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 128, (batch, seq), generator=g), torch.ones(batch, seq,
                                                                        dtype=torch.long)


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles BertModel.forward again: Dynamo's per-code recompile
    limit would otherwise send later tests to plain eager, backend unasked."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.fixture
def served(monkeypatch):
    """One entry per call that reached sinter: True when sinter computed it."""
    calls = []
    real = torch_backend.run_program

    def counting(*args, **kwargs):
        got = real(*args, **kwargs)
        calls.append(got is not None)
        return got

    monkeypatch.setattr(torch_backend, "run_program", counting)
    return calls


@pytest.fixture
def fallbacks(caplog):
    """The "runs on PyTorch" lines the sinter logger wrote."""
    caplog.set_level(logging.WARNING, logger="sinter")
    return lambda: [r.getMessage() for r in caplog.records
                    if r.name == "sinter" and "runs on PyTorch" in r.getMessage()]


def same(want, got):
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape)
    assert (want - got).abs().max().item() < 1e-4


def fell_back_once(fallbacks, served, why):
    lines = fallbacks()
    assert len(lines) == 1 and why in lines[0], lines
    assert not any(served)


class Wrapper(torch.nn.Module):
    def __init__(self, body):
        super().__init__()
        self.bert = bert_model()
        self.body = body

    def forward(self, input_ids, attention_mask):  # the names the old backend matched
        return self.body(self.bert, input_ids, attention_mask)


def run(module, *args, options=EAGER, **kwargs):
    """(eager, compiled) outputs of one call."""
    compiled = torch.compile(module, backend="sinter", options=options)
    with torch.no_grad():
        return module(*args, **kwargs), compiled(*args, **kwargs)


# ----------------------------------------------------------------- what sinter serves


def test_the_model_and_a_plain_wrapper_are_computed_by_sinter(served, fallbacks):
    ids, mask = inputs()
    bert = bert_model()
    want, got = run(bert, input_ids=ids, attention_mask=mask)
    same(want.last_hidden_state, got.last_hidden_state)
    same(want.pooler_output, got.pooler_output)
    wrapper = Wrapper(lambda bert, ids, mask: bert(ids, attention_mask=mask,
                                                   return_dict=False)[0]).eval()
    want, got = run(wrapper, ids, mask)
    same(want, got)
    assert served == [True, True] and fallbacks() == []


def test_new_shapes_stay_on_sinter(served, fallbacks):
    """Dynamo's second trace has symbolic sizes: the reference has them too."""
    bert = bert_model()
    c = torch.compile(bert, backend="sinter", options=EAGER)
    for batch, seq in ((2, 7), (3, 11), (4, 16)):
        ids, mask = inputs(batch, seq)
        mask[-1, seq - 2:] = 0  # right padding
        types = torch.zeros_like(ids)
        types[:, seq // 2:] = 1
        with torch.no_grad():
            want = bert(input_ids=ids, attention_mask=mask, token_type_ids=types)
            got = c(input_ids=ids, attention_mask=mask, token_type_ids=types)
        keep = mask.bool()
        same(want.last_hidden_state[keep], got.last_hidden_state[keep])
        same(want.pooler_output, got.pooler_output)
    assert served == [True] * 3 and fallbacks() == []


def test_two_instances_sharing_a_graph_keep_their_own_weights(served, fallbacks):
    """Dynamo's guards let one graph serve every BertModel: each call runs the
    program of the instance whose weights it is given."""
    a, b = bert_model(), bert_model()
    with torch.no_grad():
        b.encoder.layer[0].output.dense.weight.mul_(-1)
    ca = torch.compile(a, backend="sinter", options=EAGER)
    cb = torch.compile(b, backend="sinter", options=EAGER)
    ids, mask = inputs()
    with torch.no_grad():
        for model, compiled in ((a, ca), (b, cb), (a, ca)):
            same(model(input_ids=ids, attention_mask=mask).last_hidden_state,
                 compiled(input_ids=ids, attention_mask=mask).last_hidden_state)
    assert served == [True] * 3 and fallbacks() == []


# ----------------------------------------------------------------- what PyTorch runs


def test_compute_after_the_model_runs_on_pytorch(served, fallbacks):
    ids, mask = inputs()
    model = Wrapper(lambda bert, ids, mask: bert(input_ids=ids, attention_mask=mask)
                    .last_hidden_state * 2.0).eval()
    want, got = run(model, ids, mask)
    same(want, got)
    fell_back_once(fallbacks, served, "the graph computes mul")


def test_compute_before_the_model_runs_on_pytorch(served, fallbacks):
    ids, mask = inputs()
    model = Wrapper(lambda bert, ids, mask: bert(input_ids=ids.flip(1), attention_mask=mask)
                    .last_hidden_state).eval()
    want, got = run(model, ids, mask)
    same(want, got)
    fell_back_once(fallbacks, served, "word embeddings")


def test_compute_on_the_mask_before_the_model_runs_on_pytorch(served, fallbacks):
    ids, mask = inputs()
    mask[1, S - 3:] = 0  # right padding, which the flip makes left padding
    model = Wrapper(lambda bert, ids, mask: bert(input_ids=ids, attention_mask=mask.flip(1))
                    .last_hidden_state).eval()
    want, got = run(model, ids, mask)
    same(want, got)
    fell_back_once(fallbacks, served, "the graph computes flip")


def test_output_hidden_states_runs_on_pytorch(served, fallbacks):
    ids, mask = inputs()
    want, got = run(bert_model(), input_ids=ids, attention_mask=mask, output_hidden_states=True)
    assert len(got.hidden_states) == len(want.hidden_states) == 3
    for w, g in zip(want.hidden_states, got.hidden_states):
        same(w, g)
    same(want.last_hidden_state, got.last_hidden_state)
    assert fallbacks() and not any(served)


def test_position_ids_run_on_pytorch(served, fallbacks):
    ids, mask = inputs()
    positions = (torch.arange(S) + 3).expand(B, S)
    want, got = run(bert_model(), input_ids=ids, attention_mask=mask, position_ids=positions)
    same(want.last_hidden_state, got.last_hidden_state)
    fell_back_once(fallbacks, served, "position_ids")


def test_weights_changed_after_compiling_are_compiled_again(served, caplog):
    caplog.set_level(logging.WARNING, logger="sinter")
    ids, mask = inputs()
    bert = bert_model()
    c = torch.compile(bert, backend="sinter", options=EAGER)
    query = bert.encoder.layer[0].attention.self.query
    changes = [
        lambda: query.weight.data.mul_(0.5),  # the version counter does not move
        lambda: setattr(query.weight, "data", query.weight.data * 0.5),  # a new storage
        lambda: query.bias.mul_(0.5),  # under no_grad: the version counter moves
        lambda: bert.pooler.dense.weight.data[3, 5].add_(1.0),  # one element: maybe unsampled
    ]
    with torch.no_grad():
        same(bert(input_ids=ids, attention_mask=mask).last_hidden_state,
             c(input_ids=ids, attention_mask=mask).last_hidden_state)
        for change in changes[:3]:
            change()
            want, got = bert(input_ids=ids, attention_mask=mask), c(input_ids=ids,
                                                                    attention_mask=mask)
            same(want.last_hidden_state, got.last_hidden_state)
            same(want.pooler_output, got.pooler_output)
    assert served == [True] * 4
    again = [r for r in caplog.records if "changed since they were compiled" in r.getMessage()]
    assert len(again) == 3


def test_a_subclass_with_its_own_forward_runs_on_pytorch(served, fallbacks):
    class BertModel(transformers.BertModel):  # the supported class's name, another forward
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.last_hidden_state = out.last_hidden_state * 2
            return out

    bert = bert_model()
    sub = BertModel(bert.config).eval()
    sub.load_state_dict(bert.state_dict())
    ids, mask = inputs()
    want, got = run(sub, input_ids=ids, attention_mask=mask)
    same(want.last_hidden_state, got.last_hidden_state)
    fell_back_once(fallbacks, served, "test_torch_exactness")


def test_a_forward_hook_runs_on_pytorch(served, fallbacks):
    bert = bert_model()
    bert.pooler.dense.register_forward_hook(lambda module, args, out: out * 3)
    ids, mask = inputs()
    want, got = run(bert, input_ids=ids, attention_mask=mask)
    same(want.pooler_output, got.pooler_output)
    fell_back_once(fallbacks, served, "hook")


def test_two_berts_in_one_graph_run_on_pytorch(served, fallbacks):
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = bert_model(), bert_model()
            with torch.no_grad():
                self.b.encoder.layer[0].output.dense.weight.mul_(-1)

        def forward(self, input_ids, attention_mask):
            return (self.a(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                    self.b(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state)

    ids, mask = inputs()
    want, got = run(Two().eval(), ids, mask)
    same(want[0], got[0])
    same(want[1], got[1])
    fell_back_once(fallbacks, served, "owns all")


def test_one_bert_on_two_inputs_runs_on_pytorch(served, fallbacks):
    class Siamese(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert_model()

        def forward(self, input_ids, other_ids):
            return (self.bert(input_ids=input_ids).last_hidden_state,
                    self.bert(input_ids=other_ids).last_hidden_state)

    a, _ = inputs(seed=1)
    b, _ = inputs(seed=2)
    want, got = run(Siamese().eval(), a, b)
    same(want[0], got[0])
    same(want[1], got[1])
    fell_back_once(fallbacks, served, "two graph inputs")


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_other_precisions_run_on_pytorch(served, fallbacks, dtype):
    bert = bert_model().to(dtype)
    ids, mask = inputs()
    want, got = run(bert, input_ids=ids, attention_mask=mask)
    same(want.last_hidden_state, got.last_hidden_state)
    fell_back_once(fallbacks, served, str(dtype))


def test_autocast_runs_on_pytorch(served, fallbacks):
    bert = bert_model()
    ids, mask = inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want, got = run(bert, input_ids=ids, attention_mask=mask)
    same(want.last_hidden_state, got.last_hidden_state)
    fell_back_once(fallbacks, served, "autocast")


# ----------------------------------------------------------------- sinter.compile


def test_sinter_compile_runs_the_model_for_what_sinter_does_not_compute(served, fallbacks):
    bert = bert_model()
    c = sinter.compile(bert)
    ids, mask = inputs()
    positions = (torch.arange(S) + 3).expand(B, S)
    with torch.no_grad():
        same(bert(input_ids=ids, attention_mask=mask, position_ids=positions).last_hidden_state,
             c(input_ids=ids, attention_mask=mask, position_ids=positions).last_hidden_state)
        want = bert(ids, mask, output_hidden_states=True)
        got = c(ids, mask, output_hidden_states=True)
    assert got.hidden_states is not None and len(got.hidden_states) == 3
    for w, g in zip(want.hidden_states, got.hidden_states):
        same(w, g)
    lines = fallbacks()
    assert len(lines) == 2 and "position_ids" in lines[0] and "output_hidden_states" in lines[1]
    assert served == []
    with torch.no_grad():  # what sinter computes it still computes, in the model's shapes
        want, got = bert(ids, mask), c(ids, mask)
        same(want.last_hidden_state, got.last_hidden_state)
        same(want.pooler_output, got.pooler_output)
        want, got = bert(ids, mask, return_dict=False), c(ids, mask, return_dict=False)
    assert isinstance(got, tuple) and len(got) == len(want) == 2
    same(want[0], got[0])
    assert served == [True, True]


def test_sinter_compile_sees_weights_change_and_hooks(served, fallbacks, caplog):
    bert = bert_model()
    c = sinter.compile(bert)
    ids, mask = inputs()
    with torch.no_grad():
        c(ids, mask)
        bert.embeddings.word_embeddings.weight.data.mul_(0.5)
        same(bert(ids, mask).last_hidden_state, c(ids, mask).last_hidden_state)
        assert served == [True, True]
        assert any("changed since they were compiled" in r.getMessage() for r in caplog.records)
        bert.encoder.layer[1].output.register_forward_hook(lambda module, args, out: out + 1)
        same(bert(ids, mask).last_hidden_state, c(ids, mask).last_hidden_state)
    assert served == [True, True] and "hook" in fallbacks()[-1]
