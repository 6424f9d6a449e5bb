import DarkModeIcon from "@mui/icons-material/DarkMode";
import LightModeIcon from "@mui/icons-material/LightMode";
import LogoutIcon from "@mui/icons-material/Logout";
import MenuIcon from "@mui/icons-material/Menu";
import {
  AppBar,
  Box,
  Button,
  Drawer,
  IconButton,
  List,
  ListItemButton,
  ListItemText,
  Toolbar,
  Tooltip,
  Typography,
} from "@mui/material";
import { Suspense, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useMe } from "../api/hooks/me";
import { LoadingState } from "../components/QueryState";
import { useAuth } from "../auth/AuthProvider";
import { LAYOUT } from "../theme";
import { useColorMode } from "./ColorMode";
import { OrganizationSwitcher } from "./OrganizationSwitcher";

const NAV_ITEMS = [
  { to: "/", label: "Overview" },
  { to: "/regions", label: "Regions & agents" },
  { to: "/channels", label: "Channels" },
  { to: "/members", label: "Members" },
];

function isActive(pathname: string, to: string): boolean {
  if (to === "/") return pathname === "/" || pathname.startsWith("/monitors");
  return pathname.startsWith(to);
}

export function AppShell() {
  const { logout } = useAuth();
  const { mode, toggle } = useColorMode();
  const me = useMe();
  const { pathname } = useLocation();
  const [isDrawerOpen, setDrawerOpen] = useState(false);

  return (
    <Box sx={{ minHeight: "100vh" }}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <AppBar position="sticky">
        <Toolbar sx={{ gap: 1 }}>
          <IconButton
            aria-label="Open navigation"
            onClick={() => setDrawerOpen(true)}
            sx={{ display: { md: "none" } }}
          >
            <MenuIcon />
          </IconButton>
          <Typography variant="h3" component="span" color="primary" sx={{ mr: 2 }}>
            Mometrics
          </Typography>
          <Box
            component="nav"
            aria-label="Main"
            sx={{ display: { xs: "none", md: "flex" }, gap: 0.5 }}
          >
            {NAV_ITEMS.map((item) => (
              <Button
                key={item.to}
                component={NavLink}
                to={item.to}
                color={isActive(pathname, item.to) ? "primary" : "inherit"}
                aria-current={isActive(pathname, item.to) ? "page" : undefined}
              >
                {item.label}
              </Button>
            ))}
          </Box>
          <Box sx={{ flex: 1 }} />
          {me.data && (
            <Box sx={{ display: { xs: "none", sm: "block" } }}>
              <OrganizationSwitcher organizations={me.data.organizations} />
            </Box>
          )}
          <Tooltip title={mode === "dark" ? "Use light mode" : "Use dark mode"}>
            <IconButton
              onClick={toggle}
              aria-label={mode === "dark" ? "Use light mode" : "Use dark mode"}
            >
              {mode === "dark" ? <LightModeIcon /> : <DarkModeIcon />}
            </IconButton>
          </Tooltip>
          <Tooltip title={me.data ? `Sign out ${me.data.email}` : "Sign out"}>
            <IconButton onClick={() => void logout()} aria-label="Sign out">
              <LogoutIcon />
            </IconButton>
          </Tooltip>
        </Toolbar>
      </AppBar>
      <Drawer open={isDrawerOpen} onClose={() => setDrawerOpen(false)}>
        <Box sx={{ width: LAYOUT.drawerWidth, p: 1 }}>
          <List component="nav" aria-label="Main">
            {NAV_ITEMS.map((item) => (
              <ListItemButton
                key={item.to}
                component={NavLink}
                to={item.to}
                selected={isActive(pathname, item.to)}
                onClick={() => setDrawerOpen(false)}
              >
                <ListItemText primary={item.label} />
              </ListItemButton>
            ))}
          </List>
          {me.data && (
            <Box sx={{ p: 2 }}>
              <OrganizationSwitcher organizations={me.data.organizations} />
            </Box>
          )}
        </Box>
      </Drawer>
      <Box
        component="main"
        id="main"
        tabIndex={-1}
        sx={{ maxWidth: LAYOUT.contentMaxWidth, mx: "auto", p: { xs: 1.5, sm: 3 } }}
      >
        <Suspense fallback={<LoadingState />}>
          <Outlet />
        </Suspense>
      </Box>
    </Box>
  );
}
