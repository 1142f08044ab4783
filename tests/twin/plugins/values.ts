/**
 * Property values as the Pulumi engine hands them to a resource provider plugin and takes them back: plain JSON, with
 * secrets wrapped in the special-signature object and unknown (preview) values as a sentinel string. The twin's plugins
 * compare, validate and store the values inside; what they return keeps secrets wrapped, as the real providers' outputs
 * do for sensitive attributes.
 *
 * Where that was read: pulumi/pulumi `sdk/nodejs/runtime/rpc.ts` (`specialSigKey`, `specialSecretSig`,
 * `unknownValue`) and `sdk/go/common/resource/plugin/rpc.go` (`MarshalProperties` with `KeepSecrets`/`KeepUnknowns`:
 * secrets travel as `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}`, unknowns
 * as `"04da6b54-80e4-46f7-96ec-b56ff0331ba9"`).
 */

/** The key marking a special value (secret, asset, resource reference) on the wire. */
export const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The signature of a secret. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** An unknown value in a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A property bag as it travels between the engine and a provider. */
export type PropertyMap = Record<string, unknown>;

/** A secret as it travels on the wire. */
export interface WireSecret {
    readonly [SPECIAL_SIG_KEY]: typeof SECRET_SIG;
    readonly value: unknown;
}

/** Wraps `value` as a secret. */
export function makeSecret(value: unknown): WireSecret {
    return { [SPECIAL_SIG_KEY]: SECRET_SIG, value };
}

/** Whether `value` is a wrapped secret. */
export function isSecret(value: unknown): value is WireSecret {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SPECIAL_SIG_KEY] === SECRET_SIG;
}

/** `value` with every secret unwrapped, deeply; null becomes undefined. */
export function reveal(value: unknown): unknown {
    if (value === null || value === undefined) return undefined;
    if (isSecret(value)) return reveal(value.value);
    if (Array.isArray(value)) return value.map(reveal);
    if (typeof value === "object") {
        return Object.fromEntries(
            Object.entries(value as PropertyMap)
                .map(([key, inner]) => [key, reveal(inner)] as const)
                .filter(([, inner]) => inner !== undefined),
        );
    }
    return value;
}

/** Whether `value` is or holds an unknown. */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (isSecret(value)) return containsUnknown(value.value);
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (typeof value === "object" && value !== null) return Object.values(value).some(containsUnknown);
    return false;
}

/** Deep equality of two revealed values; absent, null and undefined are equal. */
export function sameValue(a: unknown, b: unknown): boolean {
    const left = reveal(a);
    const right = reveal(b);
    if (left === undefined || right === undefined) return left === right;
    if (Array.isArray(left) || Array.isArray(right)) {
        return (
            Array.isArray(left) &&
            Array.isArray(right) &&
            left.length === right.length &&
            left.every((item, i) => sameValue(item, right[i]))
        );
    }
    if (typeof left === "object" && typeof right === "object") {
        const l = left as PropertyMap;
        const r = right as PropertyMap;
        const keys = new Set([...Object.keys(l), ...Object.keys(r)]);
        return [...keys].every((key) => sameValue(l[key], r[key]));
    }
    return left === right;
}

/** A copy without undefined members (protobuf's Struct cannot carry them), secrets kept wrapped. */
export function compact(map: PropertyMap): PropertyMap {
    return JSON.parse(JSON.stringify(map)) as PropertyMap;
}

/** The revealed string at `key`, or undefined when absent, unknown or not a string. */
export function stringAt(map: PropertyMap, key: string): string | undefined {
    const value = reveal(map[key]);
    return typeof value === "string" && value !== UNKNOWN ? value : undefined;
}

/** The revealed value at `key`, or undefined when absent or unknown. */
export function knownAt(map: PropertyMap, key: string): unknown {
    return containsUnknown(map[key]) ? undefined : reveal(map[key]);
}

/** The resource type and name of a URN (`urn:pulumi:stack::project::parent$type::name`). */
export function parseUrn(urn: string): { readonly type: string; readonly name: string } {
    const parts = urn.split("::");
    const qualified = parts[2] ?? "";
    return { type: qualified.split("$").pop() ?? "", name: parts.slice(3).join("::") };
}

/** A timestamp as Go's `time.RFC3339` prints it (whole seconds, `Z`). */
export function rfc3339(date: Date): string {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whether `text` is an RFC 3339 timestamp (Go's `time.Parse(time.RFC3339, ...)` accepts it). */
export function isRfc3339(text: string): boolean {
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) && !Number.isNaN(Date.parse(text));
}

/** Whether `text` is a GUID. */
export function isGuid(text: string): boolean {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}
