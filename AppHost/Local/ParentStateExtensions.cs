using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>Gives a process-less child resource the state of its executable parent.</summary>
public static class ParentStateExtensions
{
    /// <summary>
    /// Mirrors the parent's state and start/stop times onto the child, so the dashboard shows the child running while
    /// its parent runs and Aspire starts the child's health checks (which it runs only for resources in state
    /// <c>Running</c>). Aspire does this itself for children of containers only (ApplicationOrchestrator.OnResourceChanged).
    /// </summary>
    public static IResourceBuilder<T> WithStateOf<T>(this IResourceBuilder<T> child, IResource parent)
        where T : IResource
    {
        child.OnInitializeResource((resource, initialize, cancellationToken) =>
        {
            var stopping = initialize.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var update in initialize.Notifications.WatchAsync(stopping).ConfigureAwait(false))
                    {
                        if (ReferenceEquals(update.Resource, parent))
                        {
                            await initialize.Notifications.PublishUpdateAsync(resource, snapshot => snapshot with
                            {
                                State = update.Snapshot.State,
                                StartTimeStamp = update.Snapshot.StartTimeStamp,
                                StopTimeStamp = update.Snapshot.StopTimeStamp,
                            }).ConfigureAwait(false);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // The AppHost is stopping.
                }
            }, stopping);
            return Task.CompletedTask;
        });
        return child;
    }
}
