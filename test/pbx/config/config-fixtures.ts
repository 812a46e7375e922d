/** A small valid configuration to break in tests, fresh on every call. */
export function minimalConfig(): Record<string, any> {
  return {
    tenants: [
      {
        domain: 'demo.local',
        name: 'Demo',
        default: true,
        extensions: [
          { number: '1001', name: 'Alice', password: 'secret-1001', voicemail: { pin: '1234' } },
          { number: '1002', name: 'Bob', password: 'secret-1002' },
        ],
        groups: [{ number: '600', name: 'Sales', members: [{ extension: '1001' }, { extension: '1002' }] }],
      },
    ],
  };
}
