using SharpFuzz;
using VectorPipeline.Fuzz;

// fuzz/run.sh: `dotnet VectorPipeline.Fuzz.Targets.dll TARGET` under afl-fuzz (SharpFuzz's fork server, which reads
// each input from afl-fuzz; an exception that escapes is a crash). Without afl-fuzz it runs the target once on
// standard input. `replay TARGET FILE|DIR...` runs files in-process and prints each violation (exit code 1 if any).
if (args is ["replay", var name, .. var paths])
{
    var failed = 0;
    var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).Order(StringComparer.Ordinal).ToList();
    foreach (var file in files)
    {
        try
        {
            FuzzTargets.Run(name, File.ReadAllBytes(file));
        }
        catch (InvariantViolationException ex)
        {
            failed++;
            Console.WriteLine($"{file}: {ex.Message}");
            if (ex.InnerException is { } inner)
            {
                Console.WriteLine(inner.ToString());
            }
        }
    }

    Console.WriteLine($"{name}: {files.Count} files, {failed} violations");
    return failed == 0 ? 0 : 1;
}

if (args is not [var target] || !FuzzTargets.All.ContainsKey(target))
{
    Console.Error.WriteLine($"usage: VectorPipeline.Fuzz.Targets TARGET | replay TARGET FILE|DIR...; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

Fuzzer.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    FuzzTargets.Run(target, buffer.ToArray());
});
return 0;
