"""PyTorch eager (transformers) on the same shapes as `sinter bench`, for the
side-by-side tables (bench/compare, bench/RESULTS.md). Developer-run, not CI: it
needs the peers' venv (bench/peers/setup.sh):

    OMP_WAIT_POLICY=PASSIVE .venv-peers/bin/python bench/peers/torch_bench.py \
        --model DIR --batch 8 --seq 128 --threads 2 [--compile]

Runs under torch.inference_mode with torch.set_num_threads(--threads); --compile
wraps the model in torch.compile (inductor, default options). Batches are padded to
their longest sequence (dynamic padding, the standard practice).
process_start_to_first_result_s times interpreter start (import torch,
from_pretrained, compiling with --compile) to the first 1x4 result."""
import sys
import time

T_START = time.perf_counter()

from common import lengths_for, padded_batch, parser, report, time_runs  # noqa: E402


def main():
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--compile", action="store_true", help="torch.compile (inductor)")
    args = p.parse_args()
    import torch
    from transformers import AutoModel
    torch.set_num_threads(args.threads)
    model = AutoModel.from_pretrained(args.model).eval()
    if args.compile:
        model = torch.compile(model)
    lens = lengths_for(args)
    ids, mask = padded_batch(lens, model.config.vocab_size)
    with torch.inference_mode():
        model(input_ids=ids[:1, :4], attention_mask=mask[:1, :4])
        first = time.perf_counter() - T_START
        times = time_runs(lambda: model(input_ids=ids, attention_mask=mask), args.warmup, args.iters)
    report("torch.compile" if args.compile else "pytorch-eager", args.model, lens, times,
           torch=torch.__version__, first=round(first, 3))


if __name__ == "__main__":
    sys.exit(main())
