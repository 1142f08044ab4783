/**
 * What one provider plugin process knows of its provider: the configuration the engine sends with `Configure` (the
 * tenant, the subscription, the credentials), checked the way the real providers' sign-in would check them, and the
 * twin's store it acts on. The engine starts one plugin process per provider resource, so one session per process.
 *
 * What it imitates, and where that was read:
 * - Configuration keys and how they arrive: pulumi/pulumi `sdk/go/common/resource/plugin/provider_plugin.go`
 *   (`Configure` sends `Variables` keyed `<package>:config:<key>`, non-strings JSON-encoded and secrets unwrapped, and
 *   `Args` with secrets wrapped; `CheckConfig` sends plain values, unknowns only in previews). The SDKs JSON-encode
 *   booleans themselves (`@pulumi/azuread/provider.js`: `useOidc` through `JSON.stringify`) and wrap `clientId` and
 *   `clientSecret` as secrets.
 * - The sign-in: hashicorp/terraform-provider-azuread `internal/clients/builder.go` (the azuread provider takes a token
 *   when it is configured) and pulumi/pulumi-azure-native `provider/pkg/provider/provider.go` (`Configure` builds its
 *   authorizer); Entra's answers to a client-credentials request, as the twin's Entra face gives them
 *   (`tests/twin/entra.ts`): AADSTS90002 unknown tenant, AADSTS700016 application not found in the directory,
 *   AADSTS7000215 invalid secret, AADSTS7000222 expired secret.
 *
 * Deliberately stricter than the real providers: no tenant id means refusal, not a fall back to `ARM_TENANT_ID` or the
 * Azure CLI's tenant (the product's whole point is explicit tenants), and only the public cloud is imitated.
 * Credentials left out (Azure CLI, managed identity, OIDC in CI) are taken as an administrator of the tenant.
 */
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { applicationByClientId, servicePrincipalOf, TwinError, TwinStore, twinNow } from "../store";
import { containsUnknown, reveal, type PropertyMap } from "./values";

/** The faces that write the store's log. */
export type PluginFace = "azuread" | "azure-native" | "random";

/** A provider's configuration, as far as the twin reads it. */
export interface ProviderSettings {
    readonly tenantId?: string;
    readonly subscriptionId?: string;
    readonly clientId?: string;
    readonly clientSecret?: string;
    readonly environment?: string;
    readonly useOidc: boolean;
}

/** How a plugin's provider configuration is checked. */
export interface SessionOptions {
    /** The face (and the Pulumi package) this session belongs to. */
    readonly face: PluginFace;
    /** Whether the provider acts in a tenant (azuread, azure-native) or needs no configuration (random). */
    readonly requiresTenant: boolean;
    /** The `environment` values that mean the public cloud for this provider. */
    readonly publicEnvironments: readonly string[];
    /** The store; by default the one named by `AZURE_TWIN_STORE`, opened on first use. */
    readonly store?: TwinStore;
}

/** Reads provider settings from `Configure`'s args, `Variables` or `CheckConfig`'s news. */
export function parseSettings(raw: PropertyMap, face: PluginFace): ProviderSettings {
    const prefix = `${face}:config:`;
    const value = (key: string): unknown => {
        const found = reveal(raw[key] ?? raw[`${prefix}${key}`]);
        return found === "" ? undefined : found;
    };
    const text = (key: string): string | undefined => {
        const found = value(key);
        return typeof found === "string" ? found : undefined;
    };
    const flag = value("useOidc");
    return {
        tenantId: text("tenantId"),
        subscriptionId: text("subscriptionId"),
        clientId: text("clientId"),
        clientSecret: text("clientSecret"),
        environment: text("environment"),
        useOidc: flag === true || flag === "true",
    };
}

/** One plugin process's provider: its settings, once configured, and the store. */
export class TwinSession {
    private settings?: ProviderSettings;
    private openedStore?: TwinStore;

    constructor(readonly options: SessionOptions) {
        this.openedStore = options.store;
    }

    get face(): PluginFace {
        return this.options.face;
    }

    /** The twin's store. */
    get store(): TwinStore {
        this.openedStore ??= TwinStore.fromEnvironment();
        return this.openedStore;
    }

    /** The store if one is set up, for a face that can work without one (random). */
    get optionalStore(): TwinStore | undefined {
        if (this.openedStore === undefined && process.env.AZURE_TWIN_STORE === undefined) return undefined;
        return this.store;
    }

    /** What `CheckConfig` reports: every problem of the configuration, each naming its key. Unknowns pass. */
    checkConfig(news: PropertyMap): CheckFailure[] {
        const failures: CheckFailure[] = [];
        const settings = parseSettings(news, this.face);
        if (this.options.requiresTenant && !containsUnknown(news.tenantId)) {
            if (settings.tenantId === undefined) {
                failures.push({ property: "tenantId", reason: this.missingTenantMessage() });
            } else {
                const problem = this.unknownTenantMessage(settings.tenantId);
                if (problem !== undefined) failures.push({ property: "tenantId", reason: problem });
            }
        }
        if (
            settings.environment !== undefined &&
            !containsUnknown(news.environment) &&
            !this.options.publicEnvironments.includes(settings.environment)
        ) {
            failures.push({ property: "environment", reason: this.environmentMessage(settings.environment) });
        }
        return failures;
    }

    /**
     * Takes the provider's configuration, as `Configure` does: refuses a missing or unknown tenant and signs in with
     * the configured client id and secret, failing as Entra would. Nothing is changed in the store.
     */
    configure(raw: PropertyMap): void {
        const settings = parseSettings(raw, this.face);
        if (settings.environment !== undefined && !this.options.publicEnvironments.includes(settings.environment)) {
            throw new Error(this.environmentMessage(settings.environment));
        }
        if (this.options.requiresTenant) {
            if (settings.tenantId === undefined) throw new Error(this.missingTenantMessage());
            const problem = this.unknownTenantMessage(settings.tenantId);
            if (problem !== undefined) throw new Error(problem);
            if (settings.clientId !== undefined && settings.clientSecret !== undefined) {
                this.signIn(settings.tenantId, settings.clientId, settings.clientSecret);
            }
        }
        this.settings = settings;
    }

    /** The configured settings; throws when `Configure` has not succeeded. */
    configured(): ProviderSettings {
        if (this.settings === undefined) {
            throw new Error(
                `The Azure twin's ${this.face} provider was not configured (no successful Configure call): it acts in no tenant.`,
            );
        }
        return this.settings;
    }

    /** The tenant this provider acts in. */
    tenantId(): string {
        const tenantId = this.configured().tenantId;
        if (tenantId === undefined) throw new Error(this.missingTenantMessage());
        return tenantId;
    }

    /** The provider's default subscription (azure-native). */
    subscriptionId(): string {
        const subscriptionId = this.configured().subscriptionId;
        if (subscriptionId === undefined) {
            throw new Error(
                `The ${this.face} provider has no subscriptionId: the Azure twin's ARM calls need the provider's subscription.`,
            );
        }
        return subscriptionId;
    }

    private missingTenantMessage(): string {
        return `The ${this.face} provider has no tenantId. The Azure twin refuses to guess a tenant (the real provider would fall back to ARM_TENANT_ID or the Azure CLI's tenant): give every provider an explicit tenantId.`;
    }

    private unknownTenantMessage(tenantId: string): string | undefined {
        const state = this.store.read();
        if (state.tenants[tenantId] !== undefined) return undefined;
        return `AADSTS90002: Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. (The Azure twin knows tenants ${Object.keys(state.tenants).join(", ")}.)`;
    }

    private environmentMessage(environment: string): string {
        return `The ${this.face} provider's environment is "${environment}": the Azure twin imitates the public cloud only (${this.options.publicEnvironments.map((e) => `"${e}"`).join(" or ")}).`;
    }

    /** The client-credentials sign-in the real provider makes with the configured id and secret. */
    private signIn(tenantId: string, clientId: string, secret: string): void {
        const state = this.store.read();
        const app = applicationByClientId(state, clientId);
        const tenantName = state.tenants[tenantId]?.displayName ?? tenantId;
        if (app === undefined || servicePrincipalOf(state, clientId, tenantId) === undefined) {
            throw new TwinError(
                400,
                "AADSTS700016",
                `Application with identifier '${clientId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
            );
        }
        const matching = Object.values(state.passwords).filter((p) => p.applicationObjectId === app.objectId && p.value === secret);
        const now = twinNow(state).getTime();
        if (matching.some((p) => Date.parse(p.startDate) <= now + 300_000 && Date.parse(p.endDate) > now)) return;
        if (matching.length > 0) {
            throw new TwinError(
                401,
                "AADSTS7000222",
                `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
            );
        }
        throw new TwinError(
            401,
            "AADSTS7000215",
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        );
    }
}
