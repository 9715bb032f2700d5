/* DRAFT of the vector exports the core will add to the generated ffi/include/vexfs_core.h. */
struct vexfs_vec_info {		/* what VEXFS_IOC_INFO reports */
	uint32_t dim, metric, m, ef_construction, ef_search, levels;
	uint64_t count, capacity, index_bytes;
};
struct vexfs_vec_hit { uint64_t ino; uint32_t distance; /* IEEE-754 bits */ uint32_t pad; };

/* All: 0 or -errno. Vectors cross as IEEE-754 bits (uint32_t), in KERNEL buffers (C copies from/to user). */
int32_t vexfs_rust_vec_info(struct vexfs_fs *fs, struct vexfs_vec_info *out);
int32_t vexfs_rust_vec_set(struct vexfs_fs *fs, uint64_t ino, const uint32_t *vec, uint32_t dim);
	/* -EOPNOTSUPP no vector space, -EMSGSIZE dim mismatch, -EDOM NaN/Inf, -ENOSPC area full, -EROFS, -EISDIR for directories? (vectors only on regular files: -EINVAL otherwise) */
int32_t vexfs_rust_vec_get(struct vexfs_fs *fs, uint64_t ino, uint32_t *vec, uint32_t cap, uint32_t *dim);
	/* -ENODATA none; *dim = fs dimension always; -EMSGSIZE if cap < dim */
int32_t vexfs_rust_vec_delete(struct vexfs_fs *fs, uint64_t ino);	/* -ENODATA none */
int32_t vexfs_rust_vec_query(struct vexfs_fs *fs, const uint32_t *vec, uint32_t dim, uint64_t within_dir,
			     uint32_t n, uint32_t ef, uint32_t flags, struct vexfs_vec_hit *hits, uint32_t *count);
	/* Up to n nearest files under directory within_dir (the root = everything), nearest first, written to
	 * hits[0..*count]. flags: VEXFS_QUERY_EXACT (1) = brute force. ef 0 = default. n <= 65536.
	 * The core does NOT know credentials: the shim filters hits by permission (MAY_READ) and, when fewer than
	 * k survive and *count == n, asks again with a larger n (e.g. n *= 4) up to the vector count. */
