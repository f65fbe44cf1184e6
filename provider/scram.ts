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

// Characters after which libpq and the server give up on SASLprep and hash the password as typed (RFC 4013 section
// 2.3 via RFC 3454 C.2-C.9, and unassigned code points; Unicode's current ones stand in for 3.2's).
const PROHIBITED = /[\p{Cc}\p{Co}\p{Cs}\p{Cn}\u06DD\u070F\u180E\u200E\u200F\u2028-\u202E\u2060-\u2063\u206A-\u206F\uFDD0-\uFDEF\uFFF9-\uFFFF\u0340\u0341\u2FF0-\u2FFB\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}]/u;
// Right-to-left letters (bidi R and AL, by script) and left-to-right ones, for RFC 3454's bidi rule (section 6).
const RIGHT_TO_LEFT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}]/u;
const LEFT_TO_RIGHT = /(?![\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}])\p{L}/u;

/**
 * Why libpq (and a verifier the server computes) would hash `password` differently from the pg client, or
 * undefined if they agree. The pg client always applies the mappings; libpq applies them only when the result is
 * valid SASLprep output, otherwise it uses the password as typed. The two differ only when the mappings change
 * something and the result is invalid, and then no stored verifier lets both log in (measured: psql and pg).
 */
export function saslPrepDisagreement(password: string): string | undefined {
    const prepared = saslPrepared(password);
    if (prepared === password) return undefined;
    const bad = PROHIBITED.exec(prepared);
    if (bad) return `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}, a character SASLprep prohibits`;
    if (RIGHT_TO_LEFT.test(prepared)) {
        const chars = [...prepared];
        if (LEFT_TO_RIGHT.test(prepared) || !RIGHT_TO_LEFT.test(chars[0]) || !RIGHT_TO_LEFT.test(chars[chars.length - 1])) {
            return "right-to-left letters mixed with left-to-right ones or not at both ends, which SASLprep's bidi rule prohibits";
        }
    }
    return undefined;
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
