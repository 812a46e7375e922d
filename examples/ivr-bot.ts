/**
 * The README's first example: an IVR bot that answers, greets the caller, reads a digit back,
 * records a message and hangs up.   npm run ivr-bot -- 127.0.0.1 5070
 */
import { pathToFileURL } from 'node:url';
import { CallAgent, digitPrompts, promptPath, type Call } from '../src/call/index.js';

export async function ivrBot(call: Call, messageDir = '.'): Promise<void> {
  await call.answer();
  await call.play(promptPath('thank-you-for-calling-press-a-digit'), { bargeIn: true });
  const { digits } = await call.collectDigits({ max: 1, timeoutMs: 5000 });
  if (digits) await call.play([promptPath('you-pressed'), ...digitPrompts(digits)]);
  await call.play([promptPath('please-leave-a-message'), promptPath('beep')]);
  const message = await call.record(`${messageDir}/message-${Date.now()}.wav`, { maxSeconds: 30, stopOnSilence: 4 });
  console.log(`${call.remoteUri} pressed ${digits || 'nothing'}, left ${message.durationMs} ms (${message.reason})`);
  await call.play(promptPath('goodbye'));
  await call.hangup();
}

export async function startIvrBot(address = '127.0.0.1', port = 5070, messageDir = '.'): Promise<CallAgent> {
  const agent = await CallAgent.start({ listen: [{ protocol: 'udp', address, port }] });
  agent.on('call', (call) => ivrBot(call, messageDir));
  return agent;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [address = '127.0.0.1', port = '5070'] = process.argv.slice(2);
  const agent = await startIvrBot(address, Number(port));
  console.log(`IVR bot ready: call sip:bot@${address}:${agent.port} (Ctrl-C to stop)`);
  process.once('SIGINT', () => void agent.stop());
}
