/**
 * SCRAM-SHA-256 password verifiers, computed client-side so a plaintext password never travels in SQL text
 * (where a failing statement would put it in the server log), and so `read` can tell whether a role's stored
 * password still matches the desired one without knowing anything but the stored verifier.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "crypto";

const ITERATIONS = 4096;

/**
 * SASLprep's mappings (RFC 4013), as libpq, the server and the pg client apply them before PBKDF2: non-ASCII
 * spaces become a space, "commonly mapped to nothing" characters go, then NFKC. Without the first two a password
 * with, say, a soft hyphen would get a verifier no client can log in with.
 */
export function saslPrepared(password: string): string {
    // eslint-disable-next-line no-misleading-character-class
    return password.replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ").replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, "").normalize("NFKC");
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
