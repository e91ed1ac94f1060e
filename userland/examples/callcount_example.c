/* callcount: how many times the syscall has been called since boot, this call included. */
#include <stdio.h>
#include <unistd.h>

unsigned long call_count;

int main(void)
{
	syscall(SYS_callcount, &call_count);
	printf("callcount has been called %lu times.\n", call_count);
	return 0;
}
