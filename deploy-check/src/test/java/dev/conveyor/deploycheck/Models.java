package dev.conveyor.deploycheck;

import com.fasterxml.jackson.databind.JsonMappingException;
import dev.conveyor.deploycheck.Manifests.Doc;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** Typed models by {@code apiVersion} and {@code kind}, as each model class declares them itself. */
final class Models {
  /** metadata.name of (almost) every kind: a DNS-1123 subdomain (Kubernetes' apimachinery validation). */
  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  private final Map<String, Class<? extends HasMetadata>> byKey = new LinkedHashMap<>();
  private final String served;

  /** {@code served}: what served these kinds, for messages ("Kubernetes 1.35", "Strimzi 1.2.0"). */
  @SafeVarargs
  Models(String served, Class<? extends HasMetadata>... classes) {
    this.served = served;
    for (Class<? extends HasMetadata> c : classes) byKey.put(key(HasMetadata.getApiVersion(c), HasMetadata.getKind(c)), c);
  }

  static String key(String apiVersion, String kind) {
    return apiVersion + " " + kind;
  }

  boolean hasKind(String kind) {
    return byKey.values().stream().anyMatch(c -> HasMetadata.getKind(c).equals(kind));
  }

  /** The model class of a document's apiVersion and kind, or null. */
  Class<? extends HasMetadata> model(Doc d) {
    return byKey.get(key(d.apiVersion(), d.kind()));
  }

  /** Reads {@code d} strictly into its model, adding what is wrong with it to {@code problems}; null if it cannot be read. */
  HasMetadata read(Doc d, List<String> problems) {
    Class<? extends HasMetadata> type = model(d);
    if (type == null) {
      TreeSet<String> versions = new TreeSet<>();
      byKey.values().stream().filter(c -> HasMetadata.getKind(c).equals(d.kind())).forEach(c -> versions.add(HasMetadata.getApiVersion(c)));
      problems.add(d.where() + ": " + (versions.isEmpty()
          ? "no typed model for apiVersion '" + d.apiVersion() + "' kind '" + d.kind() + "' here (add its class to the check)"
          : "apiVersion " + d.apiVersion() + " is not served by " + served + "; " + d.kind() + " is " + String.join(", ", versions)));
      // Still read it as the served version, so its fields are checked too.
      if (versions.isEmpty()) return null;
      type = byKey.get(key(versions.last(), d.kind()));
    }
    HasMetadata o;
    try {
      o = Strict.read(d.node(), type);
    } catch (JsonMappingException e) {
      problems.add(d.where() + ": " + Strict.describe(e));
      return null;
    }
    // (an apiVersion the class does not declare is reported above)
    for (String l : Strict.lost(d.node(), o)) if (!l.startsWith("apiVersion:")) problems.add(d.where() + ": " + l);
    String name = o.getMetadata() == null ? null : o.getMetadata().getName();
    if (name == null || name.length() > 253 || !DNS_SUBDOMAIN.matcher(name).matches()) {
      problems.add(d.where() + ": metadata.name '" + name + "' is not a DNS-1123 subdomain");
    }
    return o;
  }

  /** Every document of {@code docs} that this model set claims, read; all problems collected. */
  List<HasMetadata> readAll(List<Doc> docs, List<String> problems) {
    List<HasMetadata> out = new ArrayList<>();
    for (Doc d : docs) {
      HasMetadata o = read(d, problems);
      if (o != null) out.add(o);
    }
    return out;
  }
}
