/* SPDX-License-Identifier: MIT */
/*
 * Bad pointers and fenced buffers: the one implementation behind syscall-lab's probe
 * (src/checks/guest/probe.c, its efault and args modes) and the kselftests `syscall-lab
 * export-selftest` writes, which get a copy of this file next to their test. Each bad pointer is
 * one of these kinds: null, unmapped (a page mapped, then unmapped), kernel (kernel text),
 * kernel-writable (the kernel's direct-map alias of a page this process owns: its frame read from
 * /proc/self/pagemap, which tells frames to root only, at a direct-map base the caller gives) and
 * readonly (a page of known bytes, mprotect'ed read-only). A syscall given one must fail with
 * EFAULT and leave the memory behind it as it was (page_state).
 *
 * Functions are static inline: a program that includes this file gets no warning for the ones it
 * does not use. Needs _GNU_SOURCE defined before the first system header (MAP_ANONYMOUS).
 */
#ifndef SYSCALL_LAB_BAD_POINTERS_H
#define SYSCALL_LAB_BAD_POINTERS_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The guard bytes after every buffer a syscall may write, and what fills them. */
#define GUARD_BYTES 16
#define GUARD 0x3c
/* What fills a buffer argument (fenced_buffer) before the call. */
#define BUFFER_FILL 0xa5

/* Kernel text, never a user address (x86-64 with KASLR off; i386 above PAGE_OFFSET). */
#if __SIZEOF_LONG__ == 8
#define KERNEL_TEXT 0xffffffff81000000UL
#else
#define KERNEL_TEXT 0xc1000000UL
#endif

static inline const char *guard_state(const unsigned char *guard)
{
	for (int i = 0; i < GUARD_BYTES; i++)
		if (guard[i] != GUARD)
			return "clobbered";
	return "ok";
}

/* The physical frame of the page at `address` (root only since Linux 4.0), or 0. */
static inline uint64_t frame_of(void *address, long page)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)address / page * sizeof(entry))) != sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & (1ULL << 63)))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/* The kinds of bad pointer, in the order efault tries them. */
static const char *const bad_kinds[] __attribute__((unused)) = { "null", "unmapped", "kernel", "kernel-writable", "readonly" };
#define BAD_KINDS ((int)(sizeof(bad_kinds) / sizeof(bad_kinds[0])))

/* A bad pointer, and the memory behind it that a syscall must leave as it was. */
struct bad_pointer {
	const char *kind;
	void *pointer;
	/* A page of `fill` bytes behind the pointer that this process sees, or NULL. */
	const unsigned char *watched;
	int fill;
	/* Why this kind could not be made (the pointer is not to be used), or NULL. */
	const char *unavailable;
};

static inline int is_bad_kind(const char *kind)
{
	for (int i = 0; i < BAD_KINDS; i++)
		if (strcmp(kind, bad_kinds[i]) == 0)
			return 1;
	return 0;
}

/*
 * Makes a bad pointer of each of `count` kinds (known to is_bad_kind) into `bad`. Every page is
 * mapped before the unmapped ones are unmapped, so that none of them takes an unmapped one's
 * place; the caller maps nothing afterwards either. Returns -1 when mmap fails (after perror).
 */
static inline int make_bad_pointers(const char *const *kinds, int count, unsigned long directmap, long page,
			     struct bad_pointer *bad)
{
	for (int i = 0; i < count; i++) {
		struct bad_pointer *b = &bad[i];
		int readonly = strcmp(kinds[i], "readonly") == 0;

		*b = (struct bad_pointer){ .kind = kinds[i] };
		if (strcmp(b->kind, "null") == 0)
			continue;
		if (strcmp(b->kind, "kernel") == 0) {
			b->pointer = (void *)KERNEL_TEXT;
			continue;
		}
		unsigned char *mapped = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mapped == MAP_FAILED) {
			perror("mmap");
			return -1;
		}
		b->pointer = mapped;
		if (strcmp(b->kind, "unmapped") == 0)
			continue;
		b->fill = readonly ? 0x77 : 0x66;
		memset(mapped, b->fill, page);
		if (readonly) {
			if (mprotect(mapped, page, PROT_READ) == 0)
				b->watched = mapped;
			else
				b->unavailable = "mprotect-failed";
			continue;
		}
		/* kernel-writable. Locked: the frame read from pagemap stays this page's. */
		int locked = mlock(mapped, page) == 0;
		uint64_t frame = locked ? frame_of(mapped, page) : 0;
		if (frame == 0) {
			b->unavailable = locked ? "no-frame-in-pagemap" : "mlock-failed";
			continue;
		}
		/* Writable kernel memory: a store without access_ok lands in `mapped`. */
		b->pointer = (void *)(uintptr_t)(directmap + frame * (uint64_t)page);
		b->watched = mapped;
	}
	for (int i = 0; i < count; i++)
		if (strcmp(bad[i].kind, "unmapped") == 0)
			munmap(bad[i].pointer, page);
	return 0;
}

/* "unchanged" or "changed" for a bad pointer to memory this process sees; NULL otherwise. */
static inline const char *page_state(const struct bad_pointer *bad, long page)
{
	if (!bad->watched)
		return NULL;
	for (long i = 0; i < page; i++)
		if (bad->watched[i] != bad->fill)
			return "changed";
	return "unchanged";
}

/*
 * A buf: argument of `size` bytes, filled, then the guard bytes and, within 8 bytes after them, an
 * inaccessible page: a write past the guard bytes faults there (the call sees EFAULT or a short
 * count) instead of landing in the probe's own memory. Starts 8-byte aligned. NULL: mmap failed.
 */
static inline unsigned char *fenced_buffer(int size, long page)
{
	long aligned = (size + 7) & ~7L;
	long pages = (aligned + GUARD_BYTES + page - 1) / page;
	unsigned char *mapped =
		mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mapped == MAP_FAILED || mprotect(mapped + pages * page, page, PROT_NONE) != 0) {
		perror("mmap");
		return NULL;
	}
	unsigned char *buffer = mapped + pages * page - GUARD_BYTES - aligned;
	memset(buffer, BUFFER_FILL, size);
	memset(buffer + size, GUARD, GUARD_BYTES);
	return buffer;
}

#endif /* SYSCALL_LAB_BAD_POINTERS_H */
