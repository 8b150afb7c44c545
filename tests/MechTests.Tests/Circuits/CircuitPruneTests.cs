using MechTests.Circuits;
using MechTests.Graphs;
using Xunit;

namespace MechTests.Tests.Circuits;

public class CircuitPruneTests
{
    private static readonly ComputeGraph G = CircuitFixtures.TinyGraph();

    private static string[] Names(Circuit c) => c.Edges.Select(e => e.Name).ToArray();

    [Fact]
    public void AConnectedChainIsAlreadyAFixedPoint()
    {
        var c = Circuit.FromEdges(G, new[] { "input->a0.h1<v>", "a0.h1->a1.h2<q>", "a1.h2->logits" });
        var p = c.Prune();
        Assert.Equal(new[] { "input->a0.h1<v>", "a0.h1->a1.h2<q>", "a1.h2->logits" }, Names(p));
        Assert.Equal(new[] { "input", "a0.h1", "a1.h2", "logits" }, p.Nodes.Select(n => n.Name).ToArray());
    }

    [Fact]
    public void DanglingEndsCascadeFromTheOutputSide()
    {
        // m0 writes nowhere → m0 goes, then a0.h0 (its only output went to m0), then input's only edge.
        var c = Circuit.FromEdges(G, new[] { "input->a0.h0<q>", "a0.h0->m0" }).Prune();
        Assert.Empty(c.Edges);
        Assert.Equal(new[] { "logits" }, c.Nodes.Select(n => n.Name).ToArray());
    }

    [Fact]
    public void DanglingStartsCascadeFromTheInputSide()
    {
        // a0.h2 has no incoming edge (and is not input) → it goes, then a1.h3 loses its only input.
        var c = Circuit.FromEdges(G, new[] { "a0.h2->a1.h3<k>", "a1.h3->logits", "input->m1", "m1->logits" }).Prune();
        Assert.Equal(new[] { "input->m1", "m1->logits" }, Names(c));
        Assert.False(c.ContainsNode("a1.h3"));
        Assert.False(c.ContainsNode("a0.h2"));
    }

    [Fact]
    public void InputCountsAsHavingInputsAndLogitsIsAlwaysPresent()
    {
        var c = Circuit.FromEdges(G, new[] { "input->logits" }).Prune();
        Assert.Equal(new[] { "input->logits" }, Names(c));
        var empty = Circuit.Empty(G).Prune();
        Assert.Equal(new[] { "logits" }, empty.Nodes.Select(n => n.Name).ToArray());
        Assert.Empty(empty.Edges);
    }

    [Fact]
    public void EdgesWhoseEndpointIsNotAMemberAreDropped()
    {
        // a0.h1 is not listed as a node, so both of its edges go, and a1.h0 is left without inputs.
        var c = Circuit.Create(G, CircuitLevel.Edge, new[] { "input", "a1.h0", "logits" },
            new[] { "input->a0.h1<q>", "a0.h1->a1.h0<v>", "a1.h0->logits" }).Prune();
        Assert.Empty(c.Edges);
    }

    [Fact]
    public void PruningRandomEdgeSetsReachesAFixedPointWithNoDanglingNodeOrEdge()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 50; trial++)
        {
            double p = rng.NextDouble() * 0.3;
            var chosen = G.Edges.Where(_ => rng.NextDouble() < p).ToList();
            var c = Circuit.FromEdges(G, chosen).Prune();
            Assert.True(c.Prune().SameMembersAs(c), "pruning twice must change nothing");
            Assert.All(c.Edges, e => Assert.Contains(e, chosen));
            foreach (var n in c.Nodes)
            {
                if (n.Kind == NodeKind.Logits) continue;
                Assert.True(n.Kind == NodeKind.Input || c.Edges.Any(e => e.Child.Node == n), $"trial {trial}: {n} has no incoming edge");
                Assert.True(c.Edges.Any(e => e.Parent == n), $"trial {trial}: {n} has no outgoing edge");
            }
            Assert.All(c.Edges, e => Assert.True(c.ContainsNode(e.Parent) && c.ContainsNode(e.Child.Node)));
            // Maximality: every chosen edge on an input→logits path of chosen edges survives.
            foreach (var e in chosen)
                if (OnPath(e, chosen)) Assert.True(c.Contains(e), $"trial {trial}: {e} lies on an input→logits path but was pruned");
        }
    }

    private static bool OnPath(GraphEdge e, List<GraphEdge> edges)
    {
        bool Reaches(GraphNode from, Func<GraphEdge, GraphNode> next, Func<GraphEdge, GraphNode> key, NodeKind goal)
        {
            var seen = new HashSet<GraphNode>();
            var stack = new Stack<GraphNode>([from]);
            while (stack.Count > 0)
            {
                var n = stack.Pop();
                if (n.Kind == goal) return true;
                if (!seen.Add(n)) continue;
                foreach (var x in edges.Where(x => key(x) == n)) stack.Push(next(x));
            }
            return false;
        }
        return Reaches(e.Parent, x => x.Parent, x => x.Child.Node, NodeKind.Input)
            && Reaches(e.Child.Node, x => x.Child.Node, x => x.Parent, NodeKind.Logits);
    }

    [Fact]
    public void ANodeCircuitHoldsEveryEdgeBetweenItsNodesPlusInputAndLogits()
    {
        var c = Circuit.FromNodes(G, new[] { "a0.h1", "a1.h2" });
        Assert.Equal(CircuitLevel.Node, c.Level);
        Assert.Equal(new[] { "input", "a0.h1", "a1.h2", "logits" }, c.Nodes.Select(n => n.Name).ToArray());
        // input→a0.h1 (q,k,v), input→a1.h2 (q,k,v), a0.h1→a1.h2 (q,k,v), input/a0.h1/a1.h2 → logits.
        Assert.Equal(12, c.Edges.Count);
        Assert.True(c.Contains("a0.h1->a1.h2<k>"));
        Assert.True(c.Prune().SameMembersAs(c));
        Assert.Equal(new[] { "a0.h1", "a1.h2" }, c.Components);
    }

    [Fact]
    public void RemovingANodeRemovesExactlyTheEdgesThatTouchIt()
    {
        var c = Circuit.FromNodes(G, new[] { "a0.h1", "a1.h2" }).WithoutNodes(new[] { "a0.h1" });
        Assert.Equal(new[] { "input->a1.h2<q>", "input->a1.h2<k>", "input->a1.h2<v>", "input->logits", "a1.h2->logits" }, Names(c));
        Assert.Throws<ArgumentException>(() => c.WithoutNodes(new[] { "logits" }));
    }
}
