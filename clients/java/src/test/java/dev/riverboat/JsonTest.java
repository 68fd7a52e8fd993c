package dev.riverboat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void stringsAreEscapedLikeGo() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("s", "<a&b>\u2028\u2029\u00e9\u0001\b\f\n\r\t\"\\\uD83D\uDE00");
        assertEquals("{\"s\":\"\\u003ca\\u0026b\\u003e\\u2028\\u2029\u00e9\\u0001\\b\\f\\n\\r\\t\\\"\\\\\uD83D\uDE00\"}", Json.encode(v));
    }

    @Test
    void floatsUseGoShortestForm() {
        List<Object> floats = List.of(1e-7, 1e21, 1.7976931348623157e308, -0.0, 0.1, 1.0, 1e20, 0.000001, 123456789.125, 5e-324, 2e-3, 1.0E23);
        assertEquals("[1e-7,1e+21,1.7976931348623157e+308,-0,0.1,1,100000000000000000000,0.000001,123456789.125,5e-324,0.002,1e+23]", Json.encode(floats));
        assertThrows(IllegalArgumentException.class, () -> Json.formatFloat(Double.NaN));
        assertEquals("[0.1,1e-7,16777216,0.000001]", Json.encode(List.of(0.1f, 1e-7f, 16777216f, 1e-6f)));
    }

    @Test
    void integersAreExactAtAnySize() {
        assertEquals("[18446744073709551615,-9223372036854775808,7]",
                Json.encode(List.of(new BigInteger("18446744073709551615"), Long.MIN_VALUE, 7)));
    }

    @Test
    void rawJsonIsCompactedAndHtmlEscapedOnly() {
        assertEquals("{\"b\":[1,2.50,1E3],\"a\":\"\\u003c\\u00e9\\u003e\"}", Json.compact("{ \"b\" : [1, 2.50, 1E3],\n \"a\":\"<\\u00e9>\" }"));
        assertThrows(IllegalArgumentException.class, () -> Json.compact("{\"a\":"));
    }

    @Test
    void parserKeepsOrderAndRawMembers() {
        Json.JsonObject o = (Json.JsonObject) Json.parse("{\"z\": {\"b\":1, \"a\":2}, \"n\": 123456789012345678901234567890, \"z\": 0}");
        assertEquals(List.of("z", "n"), List.copyOf(o.keySet()));
        assertEquals("{\"b\":1, \"a\":2}", o.raw("z"));
        assertEquals(3, o.rawMembers.size());
        assertEquals(new BigInteger("123456789012345678901234567890"), o.get("n"));
    }
}
