// SPDX-License-Identifier: GPL-2.0
/*
 * VexFS: vector distances on AVX2/FMA.
 *
 * The kernels are Rust built for a hard-float target (kmod/simd); they may
 * only run between kernel_fpu_begin() and kernel_fpu_end(), on a CPU that
 * has AVX2, FMA and OS-enabled YMM state.  Anything else answers
 * -EOPNOTSUPP and the core computes the distance in software.
 */

#include <linux/module.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

#include "vexfs.h"

u32 vexfs_simd_l2sq(const u32 *a, const u32 *b, size_t n);
void vexfs_simd_dot3(const u32 *a, const u32 *b, size_t n, u32 *out);
u32 vexfs_simd_cos(const u32 *a, const u32 *b, size_t n);

static bool vexfs_simd_enabled = true;
module_param_named(simd, vexfs_simd_enabled, bool, 0644);
MODULE_PARM_DESC(simd, "Use AVX2/FMA for vector distances when the CPU has them");

static unsigned long vexfs_simd_calls;
module_param_named(simd_calls, vexfs_simd_calls, ulong, 0444);
MODULE_PARM_DESC(simd_calls, "Distances computed with AVX2/FMA (statistics)");

static bool vexfs_cpu_has_simd;

void vexfs_simd_init(void)
{
	vexfs_cpu_has_simd = boot_cpu_has(X86_FEATURE_AVX2) &&
			     boot_cpu_has(X86_FEATURE_FMA) &&
			     boot_cpu_has(X86_FEATURE_OSXSAVE) &&
			     cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM,
					       NULL);
	pr_info("vexfs: vector distances use %s\n",
		vexfs_cpu_has_simd ? "AVX2/FMA" : "scalar code");
}

/*
 * Floats computed per kernel_fpu_begin/end section: preemption is off
 * inside one, so a long batch of long vectors is split.
 */
#define VEXFS_SIMD_SECTION_FLOATS	16384

static unsigned long vexfs_simd_sections;
module_param_named(simd_sections, vexfs_simd_sections, ulong, 0444);
MODULE_PARM_DESC(simd_sections, "kernel_fpu_begin/end sections entered (statistics)");

static void vexfs_simd_run(int op, const u32 *q, const u32 *const *vs,
			   size_t from, size_t to, size_t n, u32 *out)
{
	size_t i;

	kernel_fpu_begin();
	for (i = from; i < to; i++) {
		if (op == VEXFS_SIMD_L2SQ)
			out[i] = vexfs_simd_l2sq(q, vs[i], n);
		else if (op == VEXFS_SIMD_COS)
			out[i] = vexfs_simd_cos(q, vs[i], n);
		else
			vexfs_simd_dot3(q, vs[i], n, out + 3 * i);
	}
	kernel_fpu_end();
	vexfs_simd_sections++;
}

int vexfs_shim_simd(int op, const u32 *q, const u32 *const *vs, size_t count,
		    size_t n, u32 *out)
{
	size_t per, i;

	if (!vexfs_cpu_has_simd || !READ_ONCE(vexfs_simd_enabled) ||
	    !irq_fpu_usable())
		return -EOPNOTSUPP;
	if (op != VEXFS_SIMD_L2SQ && op != VEXFS_SIMD_DOT3 &&
	    op != VEXFS_SIMD_COS)
		return -EINVAL;
	if (count > VEXFS_SIMD_BATCH)
		return -EINVAL;
	per = max_t(size_t, 1, VEXFS_SIMD_SECTION_FLOATS / max_t(size_t, n, 1));
	for (i = 0; i < count; i += per)
		vexfs_simd_run(op, q, vs, i, min(count, i + per), n, out);
	vexfs_simd_calls += count;
	return 0;
}
