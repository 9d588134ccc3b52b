package dev.conveyor.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A view on one YAML mapping that knows its path, so every error names the exact key
 * ({@code tenants[0].apiKeys[1].sha256}), and that refuses keys nobody read (typos).
 */
final class YamlNode {
  private final String path;
  private final JsonNode node;
  private final Set<String> read = new HashSet<>();

  YamlNode(String path, JsonNode node) {
    this.path = path;
    this.node = node == null ? MissingNode.getInstance() : node;
    if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
      throw new ConfigException(path.isEmpty() ? "(root)" : path, "expected a mapping");
    }
  }

  String key(String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  private JsonNode raw(String name) {
    read.add(name);
    JsonNode v = node.get(name);
    return v == null || v.isNull() ? null : v;
  }

  boolean has(String name) {
    return raw(name) != null;
  }

  YamlNode child(String name) {
    return new YamlNode(key(name), raw(name));
  }

  JsonNode rawChild(String name) {
    return raw(name);
  }

  String string(String name, String dflt) {
    JsonNode v = raw(name);
    if (v == null) return dflt;
    if (!v.isValueNode()) throw new ConfigException(key(name), "expected a string");
    return v.asText();
  }

  String requiredString(String name) {
    String s = string(name, null);
    if (s == null || s.isBlank()) throw new ConfigException(key(name), "is required");
    return s;
  }

  long number(String name, long dflt, long min, long max) {
    JsonNode v = raw(name);
    if (v == null) return dflt;
    if (!v.canConvertToLong() || !v.isIntegralNumber()) {
      throw new ConfigException(key(name), "expected a whole number, got '" + v.asText() + "'");
    }
    long n = v.asLong();
    if (n < min || n > max) {
      throw new ConfigException(key(name), "must be between " + min + " and " + max + ", got " + n);
    }
    return n;
  }

  int integer(String name, int dflt, int min, int max) {
    return (int) number(name, dflt, min, max);
  }

  boolean bool(String name, boolean dflt) {
    JsonNode v = raw(name);
    if (v == null) return dflt;
    if (!v.isBoolean()) throw new ConfigException(key(name), "expected true or false");
    return v.asBoolean();
  }

  Duration duration(String name, Duration dflt) {
    String s = string(name, null);
    if (s == null) return dflt;
    try {
      Duration d = Duration.parse(s);
      if (d.isNegative()) throw new ConfigException(key(name), "must not be negative");
      return d;
    } catch (DateTimeParseException e) {
      throw new ConfigException(key(name), "expected an ISO-8601 duration such as PT30S, got '" + s + "'");
    }
  }

  URI url(String name) {
    String s = requiredString(name);
    try {
      URI u = URI.create(s);
      if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
        throw new IllegalArgumentException();
      }
      return u;
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key(name), "expected an http(s) URL, got '" + s + "'");
    }
  }

  List<String> strings(String name) {
    JsonNode v = raw(name);
    List<String> out = new ArrayList<>();
    if (v == null) return out;
    if (!v.isArray()) throw new ConfigException(key(name), "expected a list");
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isValueNode()) throw new ConfigException(key(name) + "[" + i + "]", "expected a string");
      out.add(v.get(i).asText());
    }
    return out;
  }

  <T> List<T> list(String name, Function<YamlNode, T> each) {
    JsonNode v = raw(name);
    List<T> out = new ArrayList<>();
    if (v == null) return out;
    if (!v.isArray()) throw new ConfigException(key(name), "expected a list");
    for (int i = 0; i < v.size(); i++) {
      YamlNode item = new YamlNode(key(name) + "[" + i + "]", v.get(i));
      out.add(each.apply(item));
      item.rejectUnread();
    }
    return out;
  }

  /** Call after reading every known key: an unknown key is almost always a typo. */
  void rejectUnread() {
    if (!node.isObject()) return;
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!read.contains(f)) throw new ConfigException(key(f), "unknown key");
    }
  }
}
