/**
 * The checks a schema cannot express, run on the normalised configuration (so defaults take
 * part: a voicemail code "**5" collides with directed pickup left at its default "**"). Paths point into the document as written; arrays keep their indexes.
 */
import { isIP } from 'node:net';
import { compileDialPattern, DialPatternError, type DialPattern } from '../dialplan-pattern.js';
import { joinPath, type ConfigProblem } from './problems.js';
import type { Destination, DigestAlgorithm, FeatureCodes, PbxConfig, TenantConfig } from './types.js';

type Problem = Omit<ConfigProblem, 'file'>;

const ha1Length: Record<DigestAlgorithm, number> = { MD5: 32, 'SHA-256': 64 };

export function semanticProblems(config: PbxConfig): Problem[] {
  const out: Problem[] = [];
  const add = (path: string, message: string, hint?: string): void => {
    out.push(hint === undefined ? { path, message } : { path, message, hint });
  };

  config.listen.forEach((l, i) => {
    if (isIP(l.address) === 0) add(`listen[${i}].address`, `must be an IPv4 or IPv6 address (got "${l.address}")`);
    const first = config.listen.findIndex((o) => o.transport === l.transport && o.address === l.address && o.port === l.port);
    if (first < i) add(`listen[${i}]`, `repeats listen[${first}] (${l.transport} ${l.address}:${l.port})`);
  });

  const { rtp } = config;
  if (isIP(rtp.address) === 0) add('rtp.address', `must be an IPv4 or IPv6 address (got "${rtp.address}")`);
  if (rtp.advertisedAddress !== null && isIP(rtp.advertisedAddress) === 0) {
    add('rtp.advertisedAddress', `must be an IPv4 or IPv6 address (got "${rtp.advertisedAddress}")`);
  }
  if (rtp.portMin % 2 !== 0) add('rtp.portMin', `must be even (got ${rtp.portMin})`, 'RTP uses even ports, RTCP the odd port above');
  if (rtp.portMin >= rtp.portMax) add('rtp.portMax', `must be greater than rtp.portMin (${rtp.portMin})`);

  const domains = new Map<string, number>();
  let defaultTenant = -1;
  config.tenants.forEach((t, ti) => {
    const at = `tenants[${ti}]`;
    const seen = domains.get(t.domain);
    if (seen !== undefined) add(`${at}.domain`, `"${t.domain}" is also tenants[${seen}].domain`);
    else domains.set(t.domain, ti);
    if (t.default) {
      if (defaultTenant >= 0) add(`${at}.default`, `only one tenant may be the default; tenants[${defaultTenant}] already is`);
      else defaultTenant = ti;
    }
  });
  config.tenants.forEach((t, ti) => {
    t.allowedTenants.forEach((d, i) => {
      const path = `tenants[${ti}].allowedTenants[${i}]`;
      if (d === t.domain) add(path, 'is this tenant itself');
      else if (!domains.has(d)) add(path, `no tenant has the domain "${d}"`);
    });
    tenantProblems(t, `tenants[${ti}]`, add);
  });
  return out;
}

function tenantProblems(t: TenantConfig, at: string, add: (path: string, message: string, hint?: string) => void): void {
  // One number space for extensions and groups.
  const numbers = new Map<string, string>();
  const claim = (number: string, path: string): void => {
    const other = numbers.get(number);
    if (other !== undefined) add(`${path}.number`, `"${number}" is already used by ${other}`);
    else numbers.set(number, path);
  };
  const extensions = new Map(t.extensions.map((e) => [e.number, e]));
  const groups = new Set(t.groups.map((g) => g.number));

  // Outbound route patterns first: external destinations are checked against them.
  const routePatterns: DialPattern[] = [];
  const trunkNames = new Map<string, number>();
  t.trunks.forEach((tr, i) => {
    const seen = trunkNames.get(tr.name);
    if (seen !== undefined) add(`${at}.trunks[${i}].name`, `"${tr.name}" is also ${at}.trunks[${seen}].name`);
    else trunkNames.set(tr.name, i);
  });
  const routeNames = new Map<string, number>();
  t.outboundRoutes.forEach((r, ri) => {
    const rp = `${at}.outboundRoutes[${ri}]`;
    const seen = routeNames.get(r.name);
    if (seen !== undefined) add(`${rp}.name`, `"${r.name}" is also ${at}.outboundRoutes[${seen}].name`);
    else routeNames.set(r.name, ri);
    r.patterns.forEach((p, pi) => {
      try {
        const pattern = compileDialPattern(p);
        routePatterns.push(pattern);
        if (r.strip >= pattern.minLength) {
          add(`${rp}.strip`, `removes every digit of numbers matching "${p}" (they can be ${pattern.minLength} long)`);
        }
      } catch (e) {
        if (!(e instanceof DialPatternError)) throw e;
        add(`${rp}.patterns[${pi}]`, `"${p}" at position ${e.position}: ${e.reason}`, 'patterns start with "_": X is 0-9, Z 1-9, N 2-9, [1-5,7] a class, "." or "!" at the end');
      }
    });
    r.trunks.forEach((name, i) => {
      if (!trunkNames.has(name)) add(`${rp}.trunks[${i}]`, `no trunk named "${name}" in ${t.domain}`, `trunks here: ${[...trunkNames.keys()].join(', ') || 'none'}`);
    });
  });
  const routable = (n: string): boolean => routePatterns.some((p) => p.matches(n));

  const checkDestination = (d: Destination, path: string): void => {
    switch (d.type) {
      case 'extension':
        if (!extensions.has(d.number)) add(`${path}.number`, groups.has(d.number) ? `"${d.number}" is a group: write {"type": "group", "number": "${d.number}"}` : `no extension "${d.number}" in ${t.domain}`);
        break;
      case 'group':
        if (!groups.has(d.number)) add(`${path}.number`, extensions.has(d.number) ? `"${d.number}" is an extension: write {"type": "extension", "number": "${d.number}"}` : `no group "${d.number}" in ${t.domain}`);
        break;
      case 'voicemail': {
        const e = extensions.get(d.mailbox);
        if (e === undefined) add(`${path}.mailbox`, `no extension "${d.mailbox}" in ${t.domain}`);
        else if (e.voicemail === null) add(`${path}.mailbox`, `extension "${d.mailbox}" has no mailbox (its voicemail is false or missing)`);
        break;
      }
      case 'external':
        if (!routable(d.number)) add(`${path}.number`, `"${d.number}" matches no outbound route of ${t.domain}`);
        break;
      case 'hangup':
        break;
    }
  };

  t.extensions.forEach((e, i) => {
    const ep = `${at}.extensions[${i}]`;
    claim(e.number, ep);
    if (e.password !== null && e.ha1 !== null) add(ep, 'give "password" or "ha1", not both');
    if (e.password === null && e.ha1 === null) add(`${ep}.password`, 'is required (or "ha1")');
    if (e.ha1 !== null) {
      for (const [alg, hex] of Object.entries(e.ha1) as [DigestAlgorithm, string][]) {
        if (hex.length !== ha1Length[alg]) add(joinPath(`${ep}.ha1`, alg), `must be ${ha1Length[alg]} hex digits for ${alg} (got ${hex.length})`);
      }
      for (const alg of e.digestAlgorithms) {
        if (e.ha1[alg] === undefined) {
          add(`${ep}.ha1`, `has no ${alg} entry, but ${alg} is offered to this extension`, 'add it, or set "digestAlgorithm" to an algorithm you have the HA1 for');
        }
      }
    }
  });
  t.groups.forEach((g, i) => {
    const gp = `${at}.groups[${i}]`;
    claim(g.number, gp);
    g.members.forEach((m, mi) => {
      const mp = `${gp}.members[${mi}]`;
      if (m.type === 'extension') {
        if (!extensions.has(m.number)) add(`${mp}.extension`, `no extension "${m.number}" in ${t.domain}`);
      } else if (!routable(m.number)) {
        add(`${mp}.external`, `"${m.number}" matches no outbound route of ${t.domain}`);
      }
      const first = g.members.findIndex((o) => o.type === m.type && o.number === m.number);
      if (first < mi) add(mp, `repeats ${gp}.members[${first}]`);
    });
    checkDestination(g.failover, `${gp}.failover`);
  });

  const dids = new Map<string, string>();
  t.trunks.forEach((tr, i) => {
    const tp = `${at}.trunks[${i}]`;
    if (tr.register && (tr.username === null || tr.password === null)) add(`${tp}.register`, 'needs "username" and "password"');
    if (tr.password !== null && tr.username === null) add(`${tp}.username`, 'is required when "password" is set');
    tr.acceptFrom.forEach((a, ai) => {
      if (!validSource(a) && !(a === tr.host && /[A-Za-z]/.test(a))) add(`${tp}.acceptFrom[${ai}]`, `must be an IP address or a CIDR block (got "${a}")`);
    });
    tr.dids.forEach((d, di) => {
      const dp = `${tp}.dids[${di}]`;
      const other = dids.get(d.number);
      if (other !== undefined) add(`${dp}.number`, `"${d.number}" is also ${other}.number`);
      else dids.set(d.number, dp);
      checkDestination(d.destination, `${dp}.destination`);
    });
  });

  if (t.operator !== null) {
    // The caller is already in a mailbox: the operator is someone who answers.
    if (t.operator.type === 'hangup' || t.operator.type === 'voicemail') {
      add(`${at}.operator.type`, `must be "extension", "group" or "external" (got "${t.operator.type}")`, 'the operator is who a caller reaches by pressing 0 in a voicemail greeting; leave it out for none');
    } else {
      checkDestination(t.operator, `${at}.operator`);
    }
  }

  featureCodeProblems(t, `${at}.featureCodes`, numbers, add);

  if (!Object.prototype.hasOwnProperty.call(t.musicOnHold.classes, t.musicOnHold.default)) {
    add(`${at}.musicOnHold.default`, `no class "${t.musicOnHold.default}" in musicOnHold.classes`, `classes: ${Object.keys(t.musicOnHold.classes).join(', ')}`);
  }
}

function validSource(a: string): boolean {
  const [address, prefix, ...rest] = a.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^[0-9]{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** Codes dialled as a call (as opposed to pressed during one). */
const dialledCodes = ['voicemail', 'voicemailAny', 'groupPickup', 'directedPickup'] as const;
const inCallCodes = ['blindTransfer', 'attendedTransfer'] as const;

function featureCodeProblems(
  t: TenantConfig,
  at: string,
  numbers: ReadonlyMap<string, string>,
  add: (path: string, message: string, hint?: string) => void,
): void {
  const codes = t.featureCodes;
  const names = Object.keys(codes) as (keyof FeatureCodes)[];
  names.forEach((name, i) => {
    const other = names.slice(0, i).find((o) => codes[o] === codes[name]);
    if (other !== undefined) add(`${at}.${name}`, `"${codes[name]}" is also featureCodes.${other}`);
  });
  for (const name of dialledCodes) {
    const owner = numbers.get(codes[name]);
    if (owner !== undefined) add(`${at}.${name}`, `"${codes[name]}" is also the number of ${owner}`);
  }
  // Directed pickup is a prefix: "**" + "1001". A number or another dialled code starting
  // with it would be read as a pickup.
  for (const [number, owner] of numbers) {
    if (number !== codes.directedPickup && number.startsWith(codes.directedPickup)) {
      add(`${at}.directedPickup`, `"${codes.directedPickup}" is the start of "${number}" (${owner}), which would be read as a pickup`);
    }
  }
  for (const name of dialledCodes) {
    if (name !== 'directedPickup' && codes[name] !== codes.directedPickup && codes[name].startsWith(codes.directedPickup)) {
      add(`${at}.${name}`, `"${codes[name]}" starts with featureCodes.directedPickup ("${codes.directedPickup}"), so it would be read as a pickup`);
    }
  }
  const [a, b] = inCallCodes;
  if (codes[a] !== codes[b] && (codes[a].startsWith(codes[b]) || codes[b].startsWith(codes[a]))) {
    add(`${at}.${b}`, `"${codes[b]}" and featureCodes.${a} ("${codes[a]}") start alike, so the shorter one always wins`);
  }
}
