/**
 * Who is who in a loaded configuration: tenants by SIP domain (the default tenant for
 * requests addressed by IP or by a domain nobody serves), extensions and groups by number.
 * Built once per configuration (a reload builds a new one), so lookups are map reads.
 *
 * @example
 * ```ts
 * const directory = new TenantDirectory(config);
 * const tenant = directory.tenantFor('demo.local');
 * directory.extension(tenant!, '1001')?.name; // 'Alice Archer'
 * ```
 */
import type { ExtensionConfig, GroupConfig, PbxConfig, TenantConfig } from './config/index.js';

export class TenantDirectory {
  readonly config: PbxConfig;
  private readonly byDomain = new Map<string, TenantConfig>();
  private readonly defaultTenant: TenantConfig | undefined;
  private readonly extensions = new Map<TenantConfig, Map<string, ExtensionConfig>>();
  private readonly groups = new Map<TenantConfig, Map<string, GroupConfig>>();

  constructor(config: PbxConfig) {
    this.config = config;
    for (const t of config.tenants) {
      this.byDomain.set(t.domain.toLowerCase(), t);
      this.extensions.set(t, new Map(t.extensions.map((e) => [e.number, e])));
      this.groups.set(t, new Map(t.groups.map((g) => [g.number, g])));
    }
    this.defaultTenant = config.tenants.find((t) => t.default);
  }

  /** All tenants. */
  get tenants(): readonly TenantConfig[] {
    return this.config.tenants;
  }

  /** The tenant serving `domain` exactly, if any. */
  tenant(domain: string): TenantConfig | undefined {
    return this.byDomain.get(domain.toLowerCase());
  }

  /**
   * The tenant for a request addressed to `host`: the tenant of that domain, else the default
   * tenant when `host` is an IP address or a domain no tenant serves; undefined when there is
   * no default tenant either (the request is refused: unknown tenants get nothing).
   */
  tenantFor(host: string): TenantConfig | undefined {
    return this.tenant(host.replace(/^\[|\]$/g, '')) ?? this.defaultTenant;
  }

  /** An extension of a tenant. */
  extension(tenant: TenantConfig, number: string): ExtensionConfig | undefined {
    return this.extensions.get(tenant)?.get(number);
  }

  /** A group of a tenant. */
  group(tenant: TenantConfig, number: string): GroupConfig | undefined {
    return this.groups.get(tenant)?.get(number);
  }

  /** The address-of-record of an extension (`sip:1001@demo.local`), the key of its registrations. */
  static aor(tenant: TenantConfig, number: string): string {
    return `sip:${number}@${tenant.domain}`;
  }
}
