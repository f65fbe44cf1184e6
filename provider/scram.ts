/**
 * SCRAM-SHA-256 password verifiers, computed client-side so a plaintext password never travels in SQL text
 * (where a failing statement would put it in the server log), and so `read` can tell whether a role's stored
 * password still matches the desired one without knowing anything but the stored verifier.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "crypto";

const ITERATIONS = 4096;

const MAPPED_TO_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// eslint-disable-next-line no-misleading-character-class
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/** SASLprep's mapping step (RFC 4013 2.1): non-ASCII spaces become a space, "commonly mapped to nothing" go. */
function mapped(password: string): string {
    return password.replace(MAPPED_TO_SPACE, " ").replace(MAPPED_TO_NOTHING, "");
}

/**
 * SASLprep's mappings, then NFKC, as the pg client applies them before PBKDF2 (and libpq and the server when
 * the result is valid). Without them a password with, say, a soft hyphen would get a verifier no client can log
 * in with.
 */
export function saslPrepared(password: string): string {
    return mapped(password).normalize("NFKC");
}

/**
 * Whether libpq (and a verifier the server computes) might hash `password` differently from the pg client. The
 * pg client always hashes the prepared form. libpq and the server hash it only when the mapped text passes
 * SASLprep's checks (no prohibited character, nothing unassigned in Unicode 3.2, the bidi rule, not empty), and
 * otherwise hash the password as typed (measured: a control character, a private-use one, an emoji or Hebrew
 * beside Latin, each with a no-break space, let only one of psql and pg log in). Those checks need Unicode 3.2's
 * tables, which this provider does not carry, so it answers conservatively: the two can differ only when preparing
 * changes the password, and they surely agree when the mapped text is printable ASCII.
 */
export function saslPrepMayDisagree(password: string): boolean {
    if (saslPrepared(password) === password) return false;
    const m = mapped(password);
    return m === "" || /[^\x20-\x7E]/.test(m);
}

function verifier(password: string, salt: Buffer, iterations: number): string {
    const salted = pbkdf2Sync(saslPrepared(password), salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** A fresh verifier for `password` with a random salt, in the format Postgres stores in pg_authid. */
export function scramVerifier(password: string): string {
    return verifier(password, randomBytes(16), ITERATIONS);
}

/**
 * Whether `stored` (pg_authid.rolpassword) verifies `password`. Returns undefined when the stored value is not a
 * SCRAM verifier (md5, or none), which the caller treats as "unknown, set it again".
 */
export function verifierMatches(stored: string | null, password: string): boolean | undefined {
    const m = stored ? /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored) : null;
    if (!m) return undefined;
    return verifier(password, Buffer.from(m[2], "base64"), Number(m[1])) === stored;
}
