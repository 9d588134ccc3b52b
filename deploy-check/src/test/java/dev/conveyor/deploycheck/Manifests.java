package dev.conveyor.deploycheck;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The YAML documents under {@code deploy/}, one {@link Doc} each, read as trees. */
final class Manifests {
  /** Gateway config, not a Kubernetes object (the engine's DeployManifestsTest validates it). */
  static final String GATEWAY_CONFIG = "conveyor.yaml";
  static final String KUSTOMIZATION = "kustomization.yaml";
  /** A key twice in one mapping is an error (kubectl refuses it too). */
  private static final YAMLMapper YAML = YAMLMapper.builder().enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY).build();

  /** One YAML document of a file; {@code index} counts from 0 within the file. */
  record Doc(Path file, int index, JsonNode node) {
    String apiVersion() {
      return node.path("apiVersion").asText("");
    }

    String kind() {
      return node.path("kind").asText("");
    }

    String name() {
      return node.path("metadata").path("name").asText("");
    }

    /** Where a problem is: {@code kafka/topics.yaml#3 KafkaTopic conveyor-status}. */
    String where() {
      return dir().relativize(file) + "#" + index + " " + kind() + " " + name();
    }
  }

  private Manifests() {}

  static Path dir() {
    return Path.of(System.getProperty("deploy.dir", "../deploy")).toAbsolutePath().normalize();
  }

  /** Every YAML file under {@code root}, sorted. */
  static List<Path> yamlFiles(Path root) {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile)
          .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A Prometheus rules file (not a Kubernetes object; promtool checks it in the engine's AlertRulesTest). */
  static final String RULES_SUFFIX = ".rules.yaml";

  /**
   * The documents of every manifest under {@code deploy/}: all YAML but kustomizations, the gateway
   * config and Prometheus rules files.
   */
  static List<Doc> objects() {
    List<Doc> docs = new ArrayList<>();
    for (Path f : yamlFiles(dir())) {
      String name = f.getFileName().toString();
      if (name.equals(KUSTOMIZATION) || name.equals(GATEWAY_CONFIG) || name.endsWith(RULES_SUFFIX)) continue;
      docs.addAll(read(f));
    }
    return docs;
  }

  static List<Doc> read(Path f) {
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
      List<Doc> out = new ArrayList<>();
      int i = 0;
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isNull() && !n.isMissingNode()) out.add(new Doc(f, i++, n));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(f + " is not YAML", e);
    }
  }

  static List<Doc> parse(String yaml) {
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      List<Doc> out = new ArrayList<>();
      int i = 0;
      while (it.hasNext()) out.add(new Doc(dir().resolve("inline.yaml"), i++, it.next()));
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
