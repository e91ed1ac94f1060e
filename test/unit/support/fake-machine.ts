import type { KeptVm } from '../../../src/run-folder.ts';
import type { Backend } from '../../../src/vm/backend.ts';
import type { BootableKernel, ConsoleLog, ExecResult, RunMachine } from '../../../src/vm/machine.ts';
import { compileAnswer, textConsole } from './recorded-machine.ts';

/** A machine that answers the probe like a correct patched kernel, and records its life. */
export class FakeMachine implements RunMachine {
  readonly backend = 'fake';
  readonly accel = 'tcg';
  readonly consoleLogs: string[] = [];
  readonly life: string[] = [];
  /** Every command it was given, in order. */
  readonly commands: string[] = [];
  kernel = 'stock';
  private consoleText = '';

  /** `answer`: what a test's kernel says to a command first (a generated conformance case), if anything. */
  constructor(private readonly answer?: (command: string) => Partial<ExecResult> | undefined) {}

  async start(): Promise<void> {
    this.life.push('start');
  }
  async reboot(kernel: BootableKernel): Promise<void> {
    this.kernel = kernel.release;
    this.life.push(`reboot ${kernel.release}`);
  }
  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    const answered = this.answer?.(command);
    if (answered) return { code: 0, stdout: '', stderr: '', ...answered };
    // What is written to /dev/kmsg shows on the console (the end-of-checks marker).
    const kmsg = /^echo '<\d>(.*)' > \/dev\/kmsg$/.exec(command);
    if (kmsg) this.consoleText += `${kmsg[1] ?? ''}\n`;
    if (command === 'uname -r') return { code: 0, stdout: `${this.kernel}\n`, stderr: '' };
    const compiled = compileAnswer(command);
    if (compiled) return { code: 0, stdout: compiled.stdout ?? '', stderr: '' };
    if (command.includes(' enosys ')) return { code: 0, stdout: 'nr=3 ret=-1 errno=38\n', stderr: '' };
    if (command.includes('/userland/')) return { code: 0, stdout: '', stderr: '' };
    if (command.includes(' call ')) {
      const calls = [1, 2, 3].map((value, i) => `call=${i} ret=0 errno=0 value=${value} guard=ok\n`);
      return { code: 0, stdout: calls.join(''), stderr: '' };
    }
    if (command.includes(' alternate ')) {
      const calls = [4, 5, 6, 7, 8, 9].map(
        (value, i) => `call=${i} by=${i % 2 ? 'child' : 'parent'} ret=0 errno=0 value=${value} guard=ok\n`,
      );
      return { code: 0, stdout: calls.join(''), stderr: '' };
    }
    if (command.includes(' efault ')) {
      const bad = ['null', 'unmapped', 'kernel'].map((kind) => `kind=${kind} ret=-1 errno=14\n`).join('');
      const pages = ['kernel-writable', 'readonly'].map((kind) => `kind=${kind} ret=-1 errno=14 page=unchanged\n`);
      return {
        code: 0,
        stdout: `${bad}${pages.join('')}kind=misaligned ret=0 errno=0 value=10 guard=ok\n`,
        stderr: '',
      };
    }
    return { code: 0, stdout: '', stderr: '' };
  }
  async copy(): Promise<void> {}
  async download(): Promise<void> {}
  console(): ConsoleLog {
    return textConsole(() => this.consoleText);
  }
  async stop(): Promise<void> {
    this.life.push('stop');
  }
  keep(record: KeptVm): string {
    this.life.push(`keep ${record.stage}`);
    return 'kept';
  }
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.life.some((step) => step.startsWith('keep'))) await this.stop();
  }
}

/** A backend like QEMU's (boots the kernel asked first), or like Vagrant's (`boxFirst`: always its box's own). */
export function fakeBackend(machine: FakeMachine, boxFirst = false): Backend {
  return {
    name: boxFirst ? 'vagrant' : 'qemu',
    async create({ stock, patched, firstBoot }) {
      const first = boxFirst ? 'own' : firstBoot;
      machine.kernel = first === 'patched' ? patched.release : stock.release;
      const patchedKernel = { image: patched.bzImage, release: patched.release };
      return { machine, stockName: stock.release, patchedKernel, firstBoot: first };
    },
  };
}
