/* callcount never goes backwards and counts every call, across 100 calls. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	unsigned long previous = 0, now = 0;

	printf("KTAP version 1\n1..2\n");
	if (syscall(SYS_callcount, &previous) < 0) {
		printf("not ok 1 - first call succeeds\nnot ok 2 - 100 calls count 100\n");
		return 1;
	}
	printf("ok 1 - first call succeeds (%lu)\n", previous);
	for (int i = 0; i < 100; i++)
		syscall(SYS_callcount, &now);
	int ok = now >= previous + 100;
	printf("%s 2 - 100 calls count at least 100 (%lu -> %lu)\n", ok ? "ok" : "not ok", previous, now);
	return ok ? 0 : 1;
}
