using VectorPipeline.Ingest.Indexing;

namespace VectorPipeline.UnitTests;

/// <summary>The <c>VectorIndex</c> section: the index-build memory is a PostgreSQL memory size or empty.</summary>
public sealed class VectorIndexOptionsTests
{
    [Theory]
    [InlineData("1GB", "1GB")]
    [InlineData(" 512MB ", "512MB")]
    [InlineData("", null)]
    public void Build_memory_is_a_memory_size_or_the_servers_setting(string configured, string? expected)
    {
        var options = new VectorIndexOptions { MaintenanceWorkMem = configured };
        options.Validate();
        Assert.Equal(expected, options.BuildMemory);
    }

    [Theory]
    [InlineData("1 GB")]
    [InlineData("1gb")]
    [InlineData("0MB")]
    [InlineData("1GB'; DROP TABLE embeddings; --")]
    public void Anything_else_stops_the_service_naming_the_key(string configured)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new VectorIndexOptions { MaintenanceWorkMem = configured }.Validate());
        Assert.Contains("VectorIndex:MaintenanceWorkMem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_is_one_gigabyte()
    {
        Assert.Equal("1GB", new VectorIndexOptions().BuildMemory);
    }
}
