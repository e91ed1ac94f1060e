/* The seed talk's example, with the syscall's name instead of 315: SYS_taskcount comes from
 * the header syscall-lab generates from the patched kernel's syscall table (gcc -include). */
#include <stdio.h>
#include <unistd.h>

unsigned long task_count;

int main(void)
{
	syscall(SYS_taskcount, &task_count);
	printf("The system has %lu processes.\n", task_count);
	return 0;
}
