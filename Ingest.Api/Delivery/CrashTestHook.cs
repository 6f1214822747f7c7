using System.Diagnostics;

namespace VectorPipeline.Ingest.Delivery;

/// <summary>
/// Test-only fault injection for the fault tests (<c>tests/EndToEndTests/FaultTests.cs</c>): with the environment
/// variable <see cref="VariableName"/> set to <c>1</c>, Ingest.Api kills itself (SIGKILL, no shutdown) right after
/// <c>POST /documents</c> commits a document and before it publishes the chunk messages, the window an outbox or
/// the redelivery sweep must cover. Never set it in production.
/// </summary>
public static class CrashTestHook
{
    /// <summary>The environment variable: <c>VP_TEST_CRASH_AFTER_COMMIT</c>.</summary>
    public const string VariableName = "VP_TEST_CRASH_AFTER_COMMIT";

    private static readonly bool Armed = Environment.GetEnvironmentVariable(VariableName) == "1";

    /// <summary>Kills the process at once when <see cref="VariableName"/> is <c>1</c>; does nothing otherwise.</summary>
    public static void AfterCommit()
    {
        if (Armed)
        {
            Console.Error.WriteLine($"{VariableName}=1: killing the process after the commit, before publishing");
            Console.Error.Flush();
            Process.GetCurrentProcess().Kill();
        }
    }
}
