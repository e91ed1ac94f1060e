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
 *   probe args NR DIRECTMAP ARG... one call of NR with up to 6 arguments, in order, each one of
 *                                  int:V     V: decimal, negative decimal or 0x hex (64 bits at most)
 *                                  buf:SIZE  a writable buffer of SIZE bytes (1..4096), 0xa5 in
 *                                            every byte, then the guard bytes, then (within 8
 *                                            bytes) an inaccessible page
 *                                  bad:KIND  a bad pointer of one of efault's kinds, made the same
 *                                            way (kernel-writable with DIRECTMAP)
 *                                  "ret=R errno=E" then, for argument I (from 0) if a buffer,
 *                                  " bufI=HEX guardI=ok|clobbered" (HEX: its SIZE bytes after the
 *                                  call) and if a bad pointer to memory the probe sees (readonly,
 *                                  kernel-writable), " pageI=unchanged|changed"; or, without a
 *                                  call, "unavailableI=REASON" for each kind it could not make.
 *                                  A malformed ARG: a message on stderr, exit 2.
 *
 * The bad pointers and buffers come from bad-pointers.h, which is uploaded and compiled with this
 * file (src/stages/guest-programs.ts) and copied next to the tests `syscall-lab export-selftest`
 * writes: one implementation for both.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* The bad pointers, fenced buffers and guard bytes, shared with export-selftest's kselftests. */
#include "bad-pointers.h"

/* args mode: a buf: argument's largest size, the most arguments a syscall takes. */
#define MAX_BUFFER 4096
#define MAX_ARGS 6

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

static int efault(long nr, unsigned long directmap)
{
	long page = sysconf(_SC_PAGESIZE);
	/* Mapped before the bad pointers: it must not take the unmapped page's place. */
	char *writable = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct bad_pointer bad[BAD_KINDS];

	if (writable == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (make_bad_pointers(bad_kinds, BAD_KINDS, directmap, page, bad) != 0)
		return 2;
	for (int i = 0; i < BAD_KINDS; i++) {
		if (bad[i].unavailable) {
			printf("kind=%s unavailable=%s\n", bad[i].kind, bad[i].unavailable);
		} else {
			int error;
			long ret = call(nr, bad[i].pointer, &error);
			const char *state = page_state(&bad[i], page);
			printf("kind=%s ret=%ld errno=%d%s%s\n", bad[i].kind, ret, error, state ? " page=" : "",
			       state ? state : "");
		}
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

/* One argument of args mode. */
struct argument {
	enum { ARG_INT, ARG_BUFFER, ARG_BAD } type;
	unsigned long value; /* ARG_INT */
	int size; /* ARG_BUFFER */
	int bad; /* ARG_BAD: its index among the bad pointers made */
};

/* Digits only (hex ones or decimal), at least one: strtoull alone takes spaces, signs and junk. */
static int all_digits(const char *text, int hex)
{
	if (*text == '\0')
		return 0;
	for (; *text; text++)
		if (!(hex ? isxdigit((unsigned char)*text) : isdigit((unsigned char)*text)))
			return 0;
	return 1;
}

/* int:V's V as the register's bits: decimal, negative decimal or 0x hex that fits in a long. */
static int parse_int(const char *text, unsigned long *value)
{
	int negative = text[0] == '-';
	int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');

	if (!all_digits(text + negative + 2 * hex, hex))
		return 0;
	errno = 0;
	if (negative) {
		long long number = strtoll(text, NULL, 10);
#if __SIZEOF_LONG__ < 8
		if (number < LONG_MIN)
			return 0;
#endif
		*value = (unsigned long)number;
	} else {
		unsigned long long number = strtoull(text, NULL, hex ? 16 : 10);
#if __SIZEOF_LONG__ < 8
		if (number > ULONG_MAX)
			return 0;
#endif
		*value = (unsigned long)number;
	}
	return errno != ERANGE;
}

/* One ARG into `arg`; NULL, or what is wrong with it. */
static const char *parse_argument(const char *spec, struct argument *arg)
{
	if (strncmp(spec, "int:", 4) == 0) {
		arg->type = ARG_INT;
		if (!parse_int(spec + 4, &arg->value))
			return "int:V takes a decimal, negative decimal or 0x hex number that fits in a long";
		return NULL;
	}
	if (strncmp(spec, "buf:", 4) == 0) {
		arg->type = ARG_BUFFER;
		arg->size = all_digits(spec + 4, 0) && strlen(spec + 4) <= 4 ? atoi(spec + 4) : 0;
		return arg->size >= 1 && arg->size <= MAX_BUFFER ? NULL : "buf:SIZE takes a size of 1 to 4096 bytes";
	}
	if (strncmp(spec, "bad:", 4) == 0) {
		arg->type = ARG_BAD;
		return is_bad_kind(spec + 4) ? NULL : "bad:KIND takes null, unmapped, kernel, kernel-writable or readonly";
	}
	return "an argument is int:V, buf:SIZE or bad:KIND";
}

/* args mode (see the top of this file): one call of `nr` with the arguments the specs describe. */
static int args(const char *nr_text, const char *directmap_text, int count, char **specs)
{
	struct argument arg[MAX_ARGS];
	const char *kinds[MAX_ARGS];
	struct bad_pointer bad[MAX_ARGS];
	unsigned char *buffer[MAX_ARGS];
	long value[MAX_ARGS] = { 0 };
	int bads = 0, unavailable = 0;
	char *end;

	if (!all_digits(nr_text, 0)) {
		fprintf(stderr, "probe args: NR \"%s\" is not a decimal syscall number\n", nr_text);
		return 2;
	}
	if (count > MAX_ARGS) {
		fprintf(stderr, "probe args: %d arguments, and a syscall takes 6 at most\n", count);
		return 2;
	}
	unsigned long directmap = strtoul(directmap_text, &end, 0);
	if (end == directmap_text || *end != '\0') {
		fprintf(stderr, "probe args: DIRECTMAP \"%s\" is not a number\n", directmap_text);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		const char *wrong = parse_argument(specs[i], &arg[i]);
		if (wrong) {
			fprintf(stderr, "probe args: argument %d \"%s\": %s\n", i, specs[i], wrong);
			return 2;
		}
		if (arg[i].type == ARG_BAD) {
			kinds[bads] = specs[i] + 4;
			arg[i].bad = bads++;
		}
	}
	long page = sysconf(_SC_PAGESIZE);
	/* The buffers first: no mapping may take an unmapped bad pointer's place. */
	for (int i = 0; i < count; i++)
		if (arg[i].type == ARG_BUFFER && (buffer[i] = fenced_buffer(arg[i].size, page)) == NULL)
			return 2;
	if (make_bad_pointers(kinds, bads, directmap, page, bad) != 0)
		return 2;
	/* No call without every pointer asked for: it would not test what was asked. */
	for (int i = 0; i < count; i++)
		if (arg[i].type == ARG_BAD && bad[arg[i].bad].unavailable)
			printf("%sunavailable%d=%s", unavailable++ ? " " : "", i, bad[arg[i].bad].unavailable);
	if (unavailable) {
		printf("\n");
		return 0;
	}
	for (int i = 0; i < count; i++) {
		if (arg[i].type == ARG_INT) {
			value[i] = (long)arg[i].value;
		} else if (arg[i].type == ARG_BUFFER) {
			value[i] = (long)(uintptr_t)buffer[i];
		} else {
			value[i] = (long)(uintptr_t)bad[arg[i].bad].pointer;
		}
	}
	errno = 0;
	long ret = syscall(strtol(nr_text, NULL, 10), value[0], value[1], value[2], value[3], value[4], value[5]);
	int error = errno;
	printf("ret=%ld errno=%d", ret, error);
	for (int i = 0; i < count; i++) {
		if (arg[i].type == ARG_BUFFER) {
			printf(" buf%d=", i);
			for (int b = 0; b < arg[i].size; b++)
				printf("%02x", buffer[i][b]);
			printf(" guard%d=%s", i, guard_state(buffer[i] + arg[i].size));
		} else if (arg[i].type == ARG_BAD && page_state(&bad[arg[i].bad], page)) {
			printf(" page%d=%s", i, page_state(&bad[arg[i].bad], page));
		}
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	int error;

	if (argc < 3) {
		fprintf(stderr, "usage: probe call|proc|alternate|hold|enosys|efault|args ...\n");
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
	} else if (strcmp(argv[1], "args") == 0 && argc > 3) {
		return args(argv[2], argv[3], argc - 4, argv + 4);
	} else {
		fprintf(stderr, "unknown mode %s, or a missing argument\n", argv[1]);
		return 2;
	}
	return 0;
}
