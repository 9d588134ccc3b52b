package dev.conveyor.config;

/** A config file that cannot be used; the message names the key, in one line. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String key, String problem) {
    super(key + ": " + problem);
  }
}
