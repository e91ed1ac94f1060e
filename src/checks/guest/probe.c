/*
 * syscall-lab's probe: calls a system call by number in the ways the built-in checks need,
 * and prints one line of plain facts per call for the harness to judge. It takes numbers on
 * the command line, so the same binary serves the stock kernel (negative control) and the
 * patched one.
 *
 *   probe call NR COUNT      COUNT calls with a valid pointer: "ret=R errno=E value=V"
 *   probe proc NR            one call, then count /proc/<pid> at once: "ret=R errno=E value=V proc=P"
 *   probe enosys NR...       one call each with a valid pointer: "nr=N ret=R errno=E"
 *   probe efault NR          bad pointers (null, unmapped, kernel, read-only), then a
 *                            misaligned writable one: "kind=K ret=R errno=E [value=V]"
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long call(long nr, void *pointer, int *error)
{
	errno = 0;
	long ret = syscall(nr, pointer);
	*error = errno;
	return ret;
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

static void bad_pointer(long nr, const char *kind, void *pointer)
{
	int error;
	long ret = call(nr, pointer, &error);

	printf("kind=%s ret=%ld errno=%d\n", kind, ret, error);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int error;

	if (argc < 3) {
		fprintf(stderr, "usage: probe call|proc|enosys|efault NR [COUNT]\n");
		return 2;
	}
	long nr = strtol(argv[2], NULL, 10);

	if (strcmp(argv[1], "call") == 0) {
		int count = argc > 3 ? atoi(argv[3]) : 1;
		for (int i = 0; i < count; i++) {
			unsigned long value = 0xdeadbeef;
			long ret = call(nr, &value, &error);
			printf("ret=%ld errno=%d value=%lu\n", ret, error, value);
		}
	} else if (strcmp(argv[1], "proc") == 0) {
		unsigned long value = 0xdeadbeef;
		long ret = call(nr, &value, &error);
		int proc = count_proc();
		printf("ret=%ld errno=%d value=%lu proc=%d\n", ret, error, value, proc);
	} else if (strcmp(argv[1], "enosys") == 0) {
		for (int i = 2; i < argc; i++) {
			unsigned long value = 0;
			long n = strtol(argv[i], NULL, 10);
			long ret = call(n, &value, &error);
			printf("nr=%ld ret=%ld errno=%d\n", n, ret, error);
		}
	} else if (strcmp(argv[1], "efault") == 0) {
		long page = sysconf(_SC_PAGESIZE);
		char *unmapped = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *readonly = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *writable = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (unmapped == MAP_FAILED || readonly == MAP_FAILED || writable == MAP_FAILED) {
			perror("mmap");
			return 2;
		}
		munmap(unmapped, page);
		bad_pointer(nr, "null", NULL);
		bad_pointer(nr, "unmapped", unmapped);
		bad_pointer(nr, "kernel", (void *)0xffffffff81000000UL);
		bad_pointer(nr, "readonly", readonly);
		/* Not a bad pointer: an unaligned but writable address must work and hold the value. */
		unsigned long value;
		long ret = call(nr, writable + 1, &error);
		memcpy(&value, writable + 1, sizeof(value));
		printf("kind=misaligned ret=%ld errno=%d value=%lu\n", ret, error, value);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
