/**
 * What a stack config key is, and how raw config strings are read by key: shared by the stack config (`config.ts`),
 * the grant's keys and every delivery's keys (`deliveries/<name>/`), so each declares its keys where it lives.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import { show, type Problem } from "./validation";

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = "aks-acr-cross-tenant";

export type KeyType = "string" | "integer" | "boolean" | "array";

/** One stack config key: its type, whether it is required, its default and how to describe it. */
export interface ConfigKeySpec {
    readonly type: KeyType;
    readonly required: boolean;
    /** Default applied when the key is absent (also declared in Pulumi.yaml). */
    readonly default?: string | number | boolean | readonly string[];
    /** Holds a credential: read as a secret and never shown in messages. */
    readonly secret?: boolean;
    /** Expected form, quoted in validation messages. */
    readonly form: string;
    /** What the key is for: its description in Pulumi.yaml and on the configuration page. */
    readonly description: string;
    /**
     * Declared in Pulumi.yaml without a type: Pulumi's project config types cannot describe a list of objects,
     * so the program validates the shape itself.
     */
    readonly untyped?: boolean;
}

/** Raw config as Pulumi hands it to a program: strings, with lists as JSON. Secrets are present but never shown. */
export type RawStackConfig = Readonly<Partial<Record<string, string>>>;

/**
 * Stands for an encrypted value an offline check cannot read (`npm run validate` has no passphrase): its presence
 * counts, its form is not checked.
 */
export const ENCRYPTED_VALUE = "<encrypted>";

/** Reads raw config values by key, recording a problem for every value of the wrong form. */
export interface ConfigReader {
    /** The value, or undefined when absent or empty. */
    readonly present: (key: string) => string | undefined;
    /** The value; a problem with the command that sets it when absent. */
    readonly required: (key: string) => string;
    /** The value or the key's default. */
    readonly text: (key: string) => string;
    readonly list: (key: string, isRequired: boolean) => unknown[];
    readonly integer: (key: string) => number;
    readonly boolean: (key: string) => boolean;
    /** Whether a key holds something other than its default (Pulumi hands a program the defaults of Pulumi.yaml too). */
    readonly isSetOffDefault: (key: string) => boolean;
    /** The `pulumi config set` command that sets a key on this stack. */
    readonly setCommand: (key: string) => string;
    /** The raw value, for messages. */
    readonly raw: (key: string) => string | undefined;
    readonly stack: string;
    /** Wraps a secret value (`pulumi.secret` in a program) so it never exists as a plain string downstream. */
    readonly secret: (value: string) => pulumi.Output<string>;
}

export function setCommand(key: string, spec: ConfigKeySpec, stack: string): string {
    const { type, secret } = spec;
    const value = type === "array" ? `--path '${key}[0]' <value>` : `${key} <value>`;
    return `pulumi config set ${secret ? "--secret " : ""}${value.startsWith("--path") ? value : `${PROJECT}:${value}`} --stack ${stack}`;
}

export function configReader(
    keys: Readonly<Record<string, ConfigKeySpec>>,
    raw: RawStackConfig,
    stack: string,
    problems: Problem[],
    secret: (value: string) => pulumi.Output<string>,
): ConfigReader {
    const spec = (key: string): ConfigKeySpec => keys[key];
    const set = (key: string): string => setCommand(key, spec(key), stack);
    const present = (key: string): string | undefined => {
        const value = raw[key];
        return value === undefined || value === "" ? undefined : value;
    };
    const required = (key: string): string => {
        const value = present(key);
        if (value === undefined) {
            problems.push({ key, value: undefined, expected: `${spec(key).form}; set it with: ${set(key)}` });
        }
        return value ?? "";
    };
    const text = (key: string): string => present(key) ?? String(spec(key).default ?? "");
    const list = (key: string, isRequired: boolean): unknown[] => {
        const value = isRequired ? required(key) : present(key);
        if (value === undefined || value === "") {
            return [...((spec(key).default as readonly string[] | undefined) ?? [])];
        }
        try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed)) {
                return parsed;
            }
        } catch {
            // fall through: a plain string where a list belongs
        }
        problems.push({
            key,
            value: show(value),
            expected: `${spec(key).form}, as a YAML list; set items with: ${set(key)}`,
        });
        return [];
    };
    const integer = (key: string): number => {
        const value = present(key);
        if (value === undefined) {
            return Number(spec(key).default);
        }
        if (!/^-?\d+$/.test(value)) {
            problems.push({ key, value: show(value), expected: spec(key).form });
            return Number.NaN;
        }
        return Number(value);
    };
    const boolean = (key: string): boolean => {
        const value = present(key);
        if (value === undefined) {
            return Boolean(spec(key).default);
        }
        if (value !== "true" && value !== "false") {
            problems.push({ key, value: show(value), expected: spec(key).form });
        }
        return value === "true";
    };
    const isSetOffDefault = (key: string): boolean => {
        const value = raw[key];
        if (value === undefined || value === "") return false;
        const fallback = spec(key).default;
        if (Array.isArray(fallback)) {
            try {
                return JSON.stringify(JSON.parse(value)) !== JSON.stringify(fallback);
            } catch {
                return true;
            }
        }
        return value !== String(fallback);
    };
    return { present, required, text, list, integer, boolean, isSetOffDefault, setCommand: set, raw: (key) => raw[key], stack, secret };
}

/** Credentials a deployment uses to sign in to one tenant. Absent client id means ambient credentials. */
export interface TenantCredentials {
    readonly clientId?: string;
    /** Secret-wrapped; present only with a client id. */
    readonly clientSecret?: pulumi.Output<string>;
    readonly useOidc: boolean;
}

/**
 * A group of stack config keys read together: a delivery's own, or the pull-secret target's that two deliveries
 * share. Every group of the table is read on every run, whichever delivery is chosen, so a malformed value is named
 * even in a key the chosen delivery does not read.
 */
export interface ConfigKeyGroup<T> {
    /** The keys, in the order Pulumi.yaml and the configuration page list them. */
    readonly keys: Readonly<Record<string, ConfigKeySpec>>;
    /** Reads and checks the keys; `chosen` says whether the chosen delivery reads this group (required keys apply). */
    read(reader: ConfigReader, problems: Problem[], chosen: boolean): T;
}

/** What the stack config gives a delivery's `componentArgs`: the cluster and how the deployment signs in to it. */
export interface ProgramCluster {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly clusterName: string;
    readonly signIn: TenantCredentials;
    /** The cluster tenant's azure-native provider: reads the cluster (its user kubeconfig, its OIDC issuer). */
    readonly azureNative: AzureNativeProvider;
}
