/*
 * syscall-lab's probe: calls a system call by number in the ways the built-in checks need,
 * and prints one line of plain facts per call for the harness to judge. It takes numbers on
 * the command line, so the same binary serves the stock kernel (negative control) and the
 * patched one. Every variable a syscall writes is pre-filled with a pattern over all its bytes
 * (0xa5... or 0x5a..., alternating call by call, so a copy of fewer bytes shows) and followed
 * by guard bytes (a copy of more bytes shows).
 *
 *   probe call NR COUNT [SAMPLE]   COUNT calls with a valid pointer:
 *                                  "[sample=S ]call=I ret=R errno=E value=V guard=ok|clobbered"
 *   probe proc NR SAMPLE           one call, then count /proc/<pid> at once:
 *                                  "sample=S ret=R errno=E value=V guard=G proc=P"
 *   probe alternate NR CALLS       a parent and a forked child call in turn, CALLS calls in all:
 *                                  "call=I by=parent|child ret=R errno=E value=V guard=G"
 *   probe hold THREADS             a process with THREADS more threads, alive until killed (600 s
 *                                  at most): "ready pid=P threads=T" once they all run
 *   probe enosys NR...             one call each with a valid pointer: "nr=N ret=R errno=E"
 *   probe efault NR DIRECTMAP      bad pointers, each "kind=K ret=R errno=E [page=unchanged|changed]"
 *                                  (or "kind=K unavailable=REASON"): null, unmapped, kernel (kernel
 *                                  text), kernel-writable (the kernel's direct-map alias at DIRECTMAP
 *                                  of a page this process owns, its frame read from
 *                                  /proc/self/pagemap), readonly; then a misaligned writable one:
 *                                  "kind=misaligned ret=R errno=E value=V guard=G"
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_BYTES 16
#define GUARD 0x3c

/* The variable a syscall writes, and the guard bytes right after it. */
struct target {
	unsigned long value;
	unsigned char guard[GUARD_BYTES];
} __attribute__((packed));

static long call(long nr, void *pointer, int *error)
{
	errno = 0;
	long ret = syscall(nr, pointer);
	*error = errno;
	return ret;
}

/* Call number `i` into a fresh target: the pattern alternates, so a short copy cannot pass twice. */
static long call_into(long nr, struct target *t, int i, int *error)
{
	memset(&t->value, i % 2 ? 0x5a : 0xa5, sizeof(t->value));
	memset(t->guard, GUARD, sizeof(t->guard));
	return call(nr, &t->value, error);
}

static const char *guard_state(const unsigned char *guard)
{
	for (int i = 0; i < GUARD_BYTES; i++)
		if (guard[i] != GUARD)
			return "clobbered";
	return "ok";
}

static int count_proc(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *entry;
	int count = 0;

	if (!proc)
		return -1;
	while ((entry = readdir(proc)) != NULL)
		if (isdigit((unsigned char)entry->d_name[0]))
			count++;
	closedir(proc);
	return count;
}

static void *idle_thread(void *running)
{
	__atomic_add_fetch((int *)running, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

/* A process with more threads than processes: a count of threads would count it several times. */
static int hold(int threads)
{
	static int running;
	pthread_t thread;

	alarm(600);
	for (int i = 0; i < threads; i++) {
		int error = pthread_create(&thread, NULL, idle_thread, &running);
		if (error != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(error));
			return 2;
		}
	}
	while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) < threads)
		usleep(1000);
	printf("ready pid=%d threads=%d\n", getpid(), __atomic_load_n(&running, __ATOMIC_SEQ_CST));
	fflush(stdout);
	for (;;)
		pause();
}

static void print_call(int i, const char *by, long ret, int error, const struct target *t)
{
	printf("call=%d%s%s ret=%ld errno=%d value=%lu guard=%s\n", i, by ? " by=" : "", by ? by : "", ret, error,
	       t->value, guard_state(t->guard));
	fflush(stdout);
}

/* Parent and child take turns (a token over two pipes): one count must run across both. */
static int alternate(long nr, int calls)
{
	int to_child[2], to_parent[2];
	char token = 't';

	if (pipe(to_child) || pipe(to_parent)) {
		perror("pipe");
		return 2;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 2;
	}
	int mine = child == 0; /* the child takes the odd turns */
	/* Each keeps only the ends it uses: if the other dies, a read gets end-of-file, not a hang. */
	close(mine ? to_child[1] : to_parent[1]);
	close(mine ? to_parent[0] : to_child[0]);
	for (int i = 0; i < calls; i++) {
		if (i % 2 != mine)
			continue;
		if (i > 0 && read(mine ? to_child[0] : to_parent[0], &token, 1) != 1)
			break;
		struct target t;
		int error;
		long ret = call_into(nr, &t, i, &error);
		print_call(i, mine ? "child" : "parent", ret, error, &t);
		if (i + 1 < calls && write(mine ? to_parent[1] : to_child[1], &token, 1) != 1)
			break;
	}
	if (mine)
		_exit(0);
	int status;
	waitpid(child, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static void bad_pointer(long nr, const char *kind, void *pointer, const unsigned char *page, long size, int fill)
{
	int error;
	long ret = call(nr, pointer, &error);
	const char *state = "";

	if (page) {
		state = " page=unchanged";
		for (long i = 0; i < size; i++)
			if (page[i] != fill)
				state = " page=changed";
	}
	printf("kind=%s ret=%ld errno=%d%s\n", kind, ret, error, state);
	fflush(stdout);
}

/* The physical frame of the page at `address` (root only since Linux 4.0), or 0. */
static uint64_t frame_of(void *address, long page)
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

static int efault(long nr, unsigned long directmap)
{
	long page = sysconf(_SC_PAGESIZE);
	char *unmapped = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *readonly = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *owned = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *writable = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (unmapped == MAP_FAILED || readonly == MAP_FAILED || owned == MAP_FAILED || writable == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	munmap(unmapped, page);
	memset(readonly, 0x77, page);
	int readonly_ok = mprotect(readonly, page, PROT_READ) == 0;
	memset(owned, 0x66, page);
	/* Locked: the frame read from pagemap stays this page's. */
	int owned_ok = mlock(owned, page) == 0;

	bad_pointer(nr, "null", NULL, NULL, 0, 0);
	bad_pointer(nr, "unmapped", unmapped, NULL, 0, 0);
	bad_pointer(nr, "kernel", (void *)0xffffffff81000000UL, NULL, 0, 0);
	uint64_t frame = owned_ok ? frame_of(owned, page) : 0;
	if (frame == 0) {
		printf("kind=kernel-writable unavailable=%s\n", owned_ok ? "no-frame-in-pagemap" : "mlock-failed");
		fflush(stdout);
	} else {
		/* Writable kernel memory: a store without access_ok lands in `owned`. */
		bad_pointer(nr, "kernel-writable", (void *)(directmap + frame * (unsigned long)page),
			    (unsigned char *)owned, page, 0x66);
	}
	if (readonly_ok) {
		bad_pointer(nr, "readonly", readonly, (unsigned char *)readonly, page, 0x77);
	} else {
		printf("kind=readonly unavailable=mprotect-failed\n");
		fflush(stdout);
	}

	/* Not a bad pointer: an unaligned but writable address must work and hold the value. */
	struct target t;
	int error;
	long ret = call_into(nr, (struct target *)(writable + 1), 0, &error);
	memcpy(&t, writable + 1, sizeof(t));
	printf("kind=misaligned ret=%ld errno=%d value=%lu guard=%s\n", ret, error, t.value, guard_state(t.guard));
	return 0;
}

int main(int argc, char **argv)
{
	int error;

	if (argc < 3) {
		fprintf(stderr, "usage: probe call|proc|alternate|hold|enosys|efault ...\n");
		return 2;
	}
	long nr = strtol(argv[2], NULL, 10);

	if (strcmp(argv[1], "call") == 0) {
		int count = argc > 3 ? atoi(argv[3]) : 1;
		for (int i = 0; i < count; i++) {
			struct target t;
			long ret = call_into(nr, &t, i, &error);
			if (argc > 4)
				printf("sample=%s ", argv[4]);
			print_call(i, NULL, ret, error, &t);
		}
	} else if (strcmp(argv[1], "proc") == 0 && argc > 3) {
		struct target t;
		long ret = call_into(nr, &t, 0, &error);
		int proc = count_proc();
		printf("sample=%s ret=%ld errno=%d value=%lu guard=%s proc=%d\n", argv[3], ret, error, t.value,
		       guard_state(t.guard), proc);
	} else if (strcmp(argv[1], "alternate") == 0 && argc > 3) {
		return alternate(nr, atoi(argv[3]));
	} else if (strcmp(argv[1], "hold") == 0) {
		return hold((int)nr);
	} else if (strcmp(argv[1], "enosys") == 0) {
		for (int i = 2; i < argc; i++) {
			struct target t;
			long n = strtol(argv[i], NULL, 10);
			long ret = call_into(n, &t, 0, &error);
			printf("nr=%ld ret=%ld errno=%d\n", n, ret, error);
		}
	} else if (strcmp(argv[1], "efault") == 0 && argc > 3) {
		return efault(nr, strtoul(argv[3], NULL, 0));
	} else {
		fprintf(stderr, "unknown mode %s, or a missing argument\n", argv[1]);
		return 2;
	}
	return 0;
}
