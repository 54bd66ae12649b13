"""Groups `perf report --sort dso,sym --stdio` lines (stdin) into kinds of operation; prints a markdown table."""
import re
import sys

# first match wins; (kind, dso regex, symbol regex)
RULES = [
    ("convolution (oneDNN)", r"", r"dnnl::|jit_.*conv|mkldnn|_convolution|conv_depthwise|slow_conv|im2col|col2im"),
    ("convolution (oneDNN JIT code)", r"^\[JIT\]", r"^0x"),
    ("GEMM (MKL)", r"", r"mkl_blas|sgemm|gemm"),
    ("batch norm", r"", r"batch_norm"),
    ("element-wise math (exp, log, tanh, ...)", r"", r"Sleef_|mkl_vml|vml_"),
    ("reductions (sum, mean, norm)", r"", r"reduce|Reduce|cascade_sum|norm_kernel|sum_kernel|mean_kernel"),
    ("upsample / pooling / pad / copy", r"", r"upsample|pool|pad|copy_|copy_kernel|cat_|index|gather|scatter|memmove|memcpy"),
    ("element-wise (add, mul, silu, ...)", r"libtorch_cpu", r"VectorizedLoop|loop_2d|basic_loop|vectorized_loop|cpu_kernel"),
    ("allocator", r"tcmalloc|libc\.so", r"malloc|free|alloc|new|delete|madvise|tc_"),
    (".NET runtime and managed code", r"coreclr|clrjit|System\.|\[JIT\]|memfd:doublemapper|LibTorchSharp", r""),
    ("kernel (page faults, scheduling)", r"kernel", r""),
    ("other libtorch (dispatch, autograd)", r"libtorch|libc10|libstdc|ld-linux", r""),
]

totals = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    kind = "other"
    for name, dso_re, sym_re in RULES:
        if re.search(dso_re, dso) and (sym_re == "" or re.search(sym_re, sym)):
            kind = name
            break
    totals[kind] = totals.get(kind, 0.0) + pct

print("| kind of operation | share of the step's CPU samples |")
print("|---|---|")
for kind, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"| {kind} | {pct:.1f}% |")
