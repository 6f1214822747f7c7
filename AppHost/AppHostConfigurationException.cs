namespace VectorPipeline.AppHost;

/// <summary>A bad parameter or a busy port: the AppHost prints the message and exits with code 2 before starting anything.</summary>
public sealed class AppHostConfigurationException(string message) : Exception(message);
