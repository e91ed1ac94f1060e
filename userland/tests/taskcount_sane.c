/* taskcount returns success, a positive count, and counts a process this program forks. */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	unsigned long before = 0, during = 0;
	int failures = 0;

	printf("KTAP version 1\n1..3\n");
	long ret = syscall(SYS_taskcount, &before);
	printf("%s 1 - taskcount returns success (ret %ld)\n", ret >= 0 ? "ok" : "not ok", ret);
	failures += ret < 0;
	printf("%s 2 - count is positive (%lu)\n", before > 0 ? "ok" : "not ok", before);
	failures += before == 0;

	int ready[2];
	if (pipe(ready) != 0)
		return 2;
	pid_t child = fork();
	if (child == 0) {
		char byte;
		close(ready[1]);
		read(ready[0], &byte, 1); /* lives until the parent has counted */
		_exit(0);
	}
	syscall(SYS_taskcount, &during);
	close(ready[1]);
	waitpid(child, NULL, 0);
	printf("%s 3 - a forked child is counted (%lu -> %lu)\n", during >= before + 1 ? "ok" : "not ok", before, during);
	failures += during < before + 1;
	return failures ? 1 : 0;
}
