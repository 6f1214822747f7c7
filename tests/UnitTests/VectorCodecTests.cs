using VectorPipeline.VectorStore;

namespace VectorPipeline.UnitTests;

public class VectorCodecTests
{
    [Fact]
    public void Encodes_header_then_big_endian_floats()
    {
        var bytes = VectorCodec.Encode([1f, -2.5f]);

        // int16 dimensions = 2, int16 unused = 0, then 1.0f = 0x3F800000 and -2.5f = 0xC0200000, big-endian.
        Assert.Equal(new byte[] { 0, 2, 0, 0, 0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0 }, bytes);
    }

    [Fact]
    public void Decode_returns_what_encode_was_given()
    {
        var random = new Random(7);
        var vector = Enumerable.Range(0, 768).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

        Assert.Equal(vector, VectorCodec.Decode(VectorCodec.Encode(vector)));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Rejects_values_pgvector_cannot_store(float value)
    {
        var error = Assert.Throws<ArgumentException>(() => VectorCodec.Encode([0.5f, value]));
        Assert.Contains("Element 1", error.Message);
    }

    [Fact]
    public void Rejects_empty_and_oversized_vectors()
    {
        Assert.Throws<ArgumentException>(() => VectorCodec.Encode([]));
        Assert.Throws<ArgumentException>(() => VectorCodec.Encode(new float[VectorCodec.MaxDimensions + 1]));
    }

    [Fact]
    public void Decode_rejects_a_length_that_disagrees_with_the_header()
    {
        var bytes = VectorCodec.Encode([1f, 2f, 3f]);

        Assert.Throws<FormatException>(() => VectorCodec.Decode(bytes.AsSpan(0, bytes.Length - 1)));
    }
}
