package dev.riverboat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON exactly as Go's {@code encoding/json} writes it (spec 03-insert, serialization), and a
 * small order-keeping parser that also reports each member's raw text (spec 04-unique).
 */
public final class Json {
    private Json() {}

    /** An object parsed from text: members in source order, plus each member's raw value text. */
    public static final class JsonObject extends LinkedHashMap<String, Object> {
        private static final long serialVersionUID = 1L;
        /** Every member in source order (duplicates included): key and raw value text. */
        public final transient List<Map.Entry<String, String>> rawMembers = new ArrayList<>();

        /** Raw text of the first member with this key, or null. */
        public String raw(String key) {
            for (Map.Entry<String, String> e : rawMembers) {
                if (e.getKey().equals(key)) {
                    return e.getValue();
                }
            }
            return null;
        }
    }

    /** Pre-encoded JSON text, handed to the encoder as it is (compacted like Go). */
    public record Raw(String text) {}

    // ---- encoding ----

    /** Encodes maps, lists, strings, numbers, booleans and null as Go would. */
    public static String encode(Object value) {
        StringBuilder out = new StringBuilder();
        encodeInto(value, out);
        return out.toString();
    }

    private static void encodeInto(Object v, StringBuilder out) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Raw r) {
            out.append(compact(r.text()));
        } else if (v instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (v instanceof String s) {
            encodeString(s, out);
        } else if (v instanceof Float f) {
            out.append(format(f, true));
        } else if (v instanceof Double d) {
            out.append(formatFloat(d));
        } else if (v instanceof BigDecimal d) {
            // A decimal read from JSON text is what Go would decode into a float64.
            out.append(formatFloat(d.doubleValue()));
        } else if (v instanceof Number n) {
            out.append(new BigInteger(n.toString()));
        } else if (v instanceof Map<?, ?> m) {
            out.append('{');
            Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> e = it.next();
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("JSON object keys must be strings");
                }
                encodeString(key, out);
                out.append(':');
                encodeInto(e.getValue(), out);
                if (it.hasNext()) {
                    out.append(',');
                }
            }
            out.append('}');
        } else if (v instanceof Iterable<?> items) {
            out.append('[');
            boolean first = true;
            for (Object item : items) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                encodeInto(item, out);
            }
            out.append(']');
        } else {
            throw new IllegalArgumentException("no JSON form for " + v.getClass().getName());
        }
    }

    /** Go's float64 form: shortest round-trip digits, exponent below 1e-6 and from 1e21. */
    public static String formatFloat(double f) {
        return format(f, false);
    }

    /** Go's float form; a float32 rounds to the shortest digits that give back the float32. */
    private static String format(double f, boolean float32) {
        if (Double.isNaN(f) || Double.isInfinite(f)) {
            throw new IllegalArgumentException("NaN and infinities have no JSON form");
        }
        if (f == 0) {
            return (1 / f < 0) ? "-0" : "0";
        }
        BigDecimal exact = new BigDecimal(f);
        BigDecimal shortest = exact;
        // The closest p-digit decimal round-trips whenever any p-digit decimal does.
        for (int p = 1; p <= 17; p++) {
            BigDecimal candidate = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (float32 ? candidate.floatValue() == (float) f : candidate.doubleValue() == f) {
                shortest = candidate;
                break;
            }
        }
        shortest = shortest.stripTrailingZeros();
        double abs = Math.abs(f);
        boolean exponent = float32 ? (float) abs < 1e-6f || (float) abs >= 1e21f : abs < 1e-6 || abs >= 1e21;
        if (exponent) {
            String digits = shortest.unscaledValue().abs().toString();
            int exp = digits.length() - 1 - shortest.scale();
            StringBuilder s = new StringBuilder();
            if (f < 0) {
                s.append('-');
            }
            s.append(digits.charAt(0));
            if (digits.length() > 1) {
                s.append('.').append(digits, 1, digits.length());
            }
            s.append('e').append(exp < 0 ? "-" : "+").append(Math.abs(exp));
            return s.toString();
        }
        return shortest.toPlainString();
    }

    /** A JSON string as Go writes it with HTML escaping on. */
    public static void encodeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\u2028' -> out.append("\\u2028");
                case '\u2029' -> out.append("\\u2029");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isSurrogate(c)
                            && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)))
                            && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) {
                        out.append("\\ufffd");
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** A key as canonical args write it: verbatim when printable ASCII without quote or backslash. */
    public static void canonicalKey(String key, StringBuilder out) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x20 || c > 0x7f || c == '"' || c == '\\') {
                encodeString(key, out);
                return;
            }
        }
        out.append('"').append(key).append('"');
    }

    /**
     * Compacts pre-encoded JSON as Go does for a json.Marshaler: whitespace dropped, {@code <>&}
     * and U+2028/U+2029 inside strings escaped, every other character kept.
     */
    public static String compact(String raw) {
        parse(raw);
        StringBuilder out = new StringBuilder(raw.length());
        boolean inString = false;
        boolean escaped = false;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (inString) {
                if (escaped) {
                    escaped = false;
                    out.append(c);
                } else if (c == '\\') {
                    escaped = true;
                    out.append(c);
                } else if (c == '"') {
                    inString = false;
                    out.append(c);
                } else if (c == '<' || c == '>' || c == '&') {
                    out.append(String.format("\\u%04x", (int) c));
                } else if (c == '\u2028' || c == '\u2029') {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            } else if (c == '"') {
                inString = true;
                out.append(c);
            } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                out.append(c);
            }
        }
        return out.toString();
    }

    // ---- parsing ----

    /** Parses JSON text: objects as {@link JsonObject}, arrays as lists, integers as Long or BigInteger. */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.i != text.length()) {
            throw p.error("trailing characters");
        }
        return v;
    }

    private static final class Parser {
        final String s;
        int i;

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("invalid JSON at offset " + i + ": " + what);
        }

        void ws() {
            while (i < s.length() && " \t\n\r".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        char peek() {
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            return s.charAt(i);
        }

        void expect(String word) {
            if (!s.startsWith(word, i)) {
                throw error("expected " + word);
            }
            i += word.length();
        }

        Object value() {
            char c = peek();
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                case 't':
                    expect("true");
                    return Boolean.TRUE;
                case 'f':
                    expect("false");
                    return Boolean.FALSE;
                case 'n':
                    expect("null");
                    return null;
                default:
                    return number();
            }
        }

        JsonObject object() {
            JsonObject o = new JsonObject();
            i++;
            ws();
            if (peek() == '}') {
                i++;
                return o;
            }
            while (true) {
                ws();
                if (peek() != '"') {
                    throw error("expected a key");
                }
                String key = string();
                ws();
                if (peek() != ':') {
                    throw error("expected ':'");
                }
                i++;
                ws();
                int start = i;
                Object v = value();
                o.rawMembers.add(new AbstractMap.SimpleImmutableEntry<>(key, s.substring(start, i)));
                o.putIfAbsent(key, v);
                ws();
                char c = peek();
                i++;
                if (c == '}') {
                    return o;
                }
                if (c != ',') {
                    throw error("expected ',' or '}'");
                }
            }
        }

        List<Object> array() {
            List<Object> a = new ArrayList<>();
            i++;
            ws();
            if (peek() == ']') {
                i++;
                return a;
            }
            while (true) {
                ws();
                a.add(value());
                ws();
                char c = peek();
                i++;
                if (c == ']') {
                    return a;
                }
                if (c != ',') {
                    throw error("expected ',' or ']'");
                }
            }
        }

        String string() {
            StringBuilder b = new StringBuilder();
            i++;
            while (true) {
                char c = peek();
                i++;
                if (c == '"') {
                    return b.toString();
                }
                if (c < 0x20) {
                    throw error("control character in string");
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = peek();
                i++;
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw error("short \\u escape");
                        }
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw error("bad escape");
                }
            }
        }

        Object number() {
            int start = i;
            if (peek() == '-') {
                i++;
            }
            boolean fraction = false;
            while (i < s.length() && "0123456789.eE+-".indexOf(s.charAt(i)) >= 0) {
                char c = s.charAt(i);
                fraction |= c == '.' || c == 'e' || c == 'E';
                i++;
            }
            String text = s.substring(start, i);
            if (text.isEmpty() || text.equals("-")) {
                throw error("unexpected character");
            }
            try {
                if (fraction) {
                    return new BigDecimal(text);
                }
                BigInteger n = new BigInteger(text);
                return n.bitLength() < 64 ? (Object) n.longValue() : n;
            } catch (NumberFormatException ex) {
                throw error("bad number " + text);
            }
        }
    }
}
